package document

import (
	"strconv"

	"github.com/erpsync/erpsync/erp"
)

// The documents of company-wide and group-wide data: stored once per company, in indexes of
// their own, and joined by the storefront at query time, so that an edit of one writes one
// document instead of every product it concerns.

// Category is the search document of a product category: one node of the company's tree and
// whether the webshop shows it (Sana's "visible in webshop"). Products name their categories by
// id (Product.CategoryIDs).
type Category struct {
	Envelope
	CategoryID string `json:"category_id"`
	Name       string `json:"name"`
	ParentID   string `json:"parent_id,omitempty"`
	Visible    bool   `json:"visible"`
}

// FromCategory builds the document of c.
func FromCategory(c erp.Category) Category {
	return Category{Envelope: envelope(c.Company, c.ID, c.Modified), CategoryID: c.ID, Name: c.Name, ParentID: c.ParentID, Visible: c.Visible}
}

// LineDiscountAgreement is the search document of a line discount agreement line for an item
// discount group or for all items (the lines for one item are on its product). Its key is the
// line's RecordId.
type LineDiscountAgreement struct {
	Envelope
	LineDiscount
}

// FromLineDiscount builds the document of d.
func FromLineDiscount(d erp.LineDiscountAgreement) LineDiscountAgreement {
	return LineDiscountAgreement{Envelope: envelope(d.Company, itoa(d.RecID), d.Modified), LineDiscount: LineDiscountOf(d.LineDiscount)}
}

// Activation is the search document of a company's trade agreement activation: the names of the
// PriceParameters fields that are Yes (erp.ActivationFields). Its key is the table's Key (0).
type Activation struct {
	Envelope
	Activated []string `json:"activated"`
}

// FromActivation builds the document of a; Activated is never null.
func FromActivation(a erp.Activation) Activation {
	d := Activation{Envelope: envelope(a.Company, "0", a.Modified), Activated: []string{}}
	d.Activated = append(d.Activated, a.Activated...)
	return d
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
