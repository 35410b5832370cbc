package document

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/erp"
)

// Product is the search document of a released product: the whole aggregate the storefront
// shows, searches and facets on.
//
// Texts: Name and Description hold one entry per configured language code: the product's
// translation in that language, and where there is none, the product's own name and description
// (D365 keeps them in the system language), so the storefront searches and shows
// name.<shopper language> and always finds text. Languages lists the languages that have a
// translation; Language is the company's language, the shop's default for its shoppers.
//
// Visibility: Visible is true when at least one of the product's categories is visible in the
// webshop (or, with Options.ShowUncategorized, when it has no category). The storefront shows a
// product when visible, not deleted and not sales_stopped.
//
// Prices: BasePrice is the released product's sales price; Prices are the trade agreement lines
// (nested), exact decimal text plus a double for ranges. PriceMin and PriceMax summarise the
// base price and every line for everybody (account code All) in the product's currency,
// regardless of dates, quantities and variants: the "from" price for the price facet and price
// sorting. The price a customer pays is computed from Prices, not from the summary.
type Product struct {
	Envelope
	ItemNumber     string `json:"item_number"`
	SearchName     string `json:"search_name,omitempty"`
	SubType        string `json:"sub_type,omitempty"`
	DimensionGroup string `json:"dimension_group,omitempty"`
	ProductGroup   string `json:"product_group,omitempty"`
	Unit           string `json:"unit,omitempty"`
	// Language is the code of the company's own texts.
	Language string `json:"language"`
	// Languages are the codes that have text of their own (not a fallback), sorted.
	Languages   []string          `json:"languages,omitempty"`
	Name        map[string]string `json:"name,omitempty"`
	Description map[string]string `json:"description,omitempty"`

	Currency string `json:"currency,omitempty"`
	// BasePrice is the exact sales price; absent when the ERP has none (zero).
	BasePrice      string   `json:"base_price,omitempty"`
	BasePriceValue *float64 `json:"base_price_value,omitempty"`
	PriceMin       *float64 `json:"price_min,omitempty"`
	PriceMax       *float64 `json:"price_max,omitempty"`
	Prices         []Price  `json:"prices,omitempty"`

	Visible       bool           `json:"visible"`
	SalesStopped  bool           `json:"sales_stopped"`
	OrderSettings *OrderSettings `json:"order_settings,omitempty"`

	Categories []Category `json:"categories,omitempty"`
	// CategoryIDs are the ids of the visible categories, for the category facet.
	CategoryIDs []string `json:"category_ids,omitempty"`

	// Dimensions are the values each dimension takes, for facets; DimensionValues the same
	// with descriptions and display order.
	Dimensions      Dimensions       `json:"dimensions"`
	DimensionValues []DimensionValue `json:"dimension_values,omitempty"`
	Variants        []Variant        `json:"variants,omitempty"`
	// Barcodes are every bar code of the product and its variants.
	Barcodes []string `json:"barcodes,omitempty"`

	Related     []Related    `json:"related,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// ImageURL is the default image (or the first image) for result cards.
	ImageURL string `json:"image_url,omitempty"`
}

// Dimensions lists the values of each product dimension, sorted.
type Dimensions struct {
	Color         []string `json:"color,omitempty"`
	Size          []string `json:"size,omitempty"`
	Style         []string `json:"style,omitempty"`
	Configuration []string `json:"configuration,omitempty"`
}

// DimensionValue is one value of one dimension; Dimension is lower case ("color").
type DimensionValue struct {
	Dimension    string `json:"dimension"`
	Value        string `json:"value"`
	Description  string `json:"description,omitempty"`
	DisplayOrder int    `json:"display_order"`
}

// Variant is a product variant with its dimension values, their descriptions and its bar codes.
type Variant struct {
	VariantNumber            string   `json:"variant_number"`
	Name                     string   `json:"name,omitempty"`
	Description              string   `json:"description,omitempty"`
	Color                    string   `json:"color,omitempty"`
	ColorDescription         string   `json:"color_description,omitempty"`
	Size                     string   `json:"size,omitempty"`
	SizeDescription          string   `json:"size_description,omitempty"`
	Style                    string   `json:"style,omitempty"`
	StyleDescription         string   `json:"style_description,omitempty"`
	Configuration            string   `json:"configuration,omitempty"`
	ConfigurationDescription string   `json:"configuration_description,omitempty"`
	Barcodes                 []string `json:"barcodes,omitempty"`
}

// Category is a category the product is assigned to.
type Category struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	ParentID     string `json:"parent_id,omitempty"`
	Visible      bool   `json:"visible"`
	DisplayOrder int    `json:"display_order"`
}

// Related is a relation to another product of the same company.
type Related struct {
	ItemNumber   string `json:"item_number"`
	RelationType string `json:"relation_type"`
	DisplayOrder int    `json:"display_order"`
}

// Attachment is an image or document of the product.
type Attachment struct {
	ID           string `json:"id"`
	DocumentType string `json:"document_type"`
	FileName     string `json:"file_name,omitempty"`
	Title        string `json:"title,omitempty"`
	URL          string `json:"url,omitempty"`
	DefaultImage bool   `json:"default_image"`
	DisplayOrder int    `json:"display_order"`
}

// OrderSettings are the default sales order quantities as exact decimal text; a maximum or
// multiple of "0" means none.
type OrderSettings struct {
	MinimumQuantity  string `json:"minimum_quantity"`
	MaximumQuantity  string `json:"maximum_quantity"`
	MultipleQuantity string `json:"multiple_quantity"`
	StandardQuantity string `json:"standard_quantity"`
}

// Price is a trade agreement line. Price, FromQuantity and ToQuantity are exact decimal text;
// the *Value fields are doubles for ranges and sorting only. ToQuantity "0" (and no
// ToQuantityValue) means no upper bound; ValidFrom and ValidTo (YYYY-MM-DD, inclusive) are absent
// when the ERP has no date. Dimensions restrict the line to matching variants; empty ones match
// any.
type Price struct {
	RecID int64 `json:"rec_id"`
	// AllItems is true for a line that covers every product of the company.
	AllItems bool `json:"all_items"`
	// AccountCode is erp.AccountCustomer ("Table"), erp.AccountGroup ("GroupId") or
	// erp.AccountAll ("All").
	AccountCode       string   `json:"account_code"`
	Customer          string   `json:"customer,omitempty"`
	PriceGroup        string   `json:"price_group,omitempty"`
	Currency          string   `json:"currency"`
	Price             string   `json:"price"`
	PriceValue        float64  `json:"price_value"`
	Unit              string   `json:"unit,omitempty"`
	FromQuantity      string   `json:"from_quantity"`
	FromQuantityValue float64  `json:"from_quantity_value"`
	ToQuantity        string   `json:"to_quantity"`
	ToQuantityValue   *float64 `json:"to_quantity_value,omitempty"`
	ValidFrom         string   `json:"valid_from,omitempty"`
	ValidTo           string   `json:"valid_to,omitempty"`
	Color             string   `json:"color,omitempty"`
	Size              string   `json:"size,omitempty"`
	Style             string   `json:"style,omitempty"`
	Configuration     string   `json:"configuration,omitempty"`
}

// FromProduct builds the document of p. It is pure: the same record and options give the same
// document, children in a fixed order. It fails, naming the field, when a number of p has no
// finite double (a price of 10^100000 is exact text to the ERP but +Inf as a double, which no
// JSON encoder and no Elasticsearch numeric field takes): such a record cannot be indexed, and
// the caller dead-letters it. A document it returns holds finite numbers only.
func FromProduct(p erp.Product, o Options) (Product, error) {
	var n numbers
	d := Product{
		Envelope:       envelope(p.Company, p.ItemNumber, p.Modified),
		ItemNumber:     p.ItemNumber,
		SearchName:     p.SearchName,
		SubType:        p.SubType,
		DimensionGroup: p.DimensionGroup,
		ProductGroup:   p.ProductGroup,
		Unit:           p.SalesUnit,
		Currency:       p.Currency,
	}
	d.Language = o.companyLanguage(p.Company)
	d.Name, d.Description, d.Languages = texts(p, o.Langs())

	if !p.SalesPrice.IsZero() {
		d.BasePrice = p.SalesPrice.String()
		v := n.value(p.SalesPrice, "SalesPrice", 0)
		d.BasePriceValue = &v
	}
	d.Prices = prices(&n, p.Prices)
	d.PriceMin, d.PriceMax = priceRange(&n, d.BasePriceValue, p.Currency, p.Prices)
	if n.err != nil {
		return Product{}, fmt.Errorf("product %s: %w", d.ID, n.err)
	}

	if s := p.OrderSettings; s != nil {
		d.SalesStopped = s.SalesStopped
		d.OrderSettings = &OrderSettings{
			MinimumQuantity:  s.MinimumQuantity.String(),
			MaximumQuantity:  s.MaximumQuantity.String(),
			MultipleQuantity: s.MultipleQuantity.String(),
			StandardQuantity: s.StandardQuantity.String(),
		}
	}

	for _, c := range p.Categories {
		d.Categories = append(d.Categories, Category{ID: c.ID, Name: c.Name, ParentID: c.ParentID, Visible: c.Visible, DisplayOrder: c.DisplayOrder})
		if c.Visible {
			d.CategoryIDs = append(d.CategoryIDs, c.ID)
		}
	}
	slices.SortFunc(d.Categories, func(a, b Category) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.ID, b.ID))
	})
	d.CategoryIDs = sortedUnique(d.CategoryIDs)
	d.Visible = len(d.CategoryIDs) > 0 || len(p.Categories) == 0 && o.ShowUncategorized

	d.DimensionValues, d.Dimensions = dimensions(p)
	d.Variants = variants(p)
	var codes []string
	for _, b := range p.Barcodes {
		codes = append(codes, b.Barcode)
	}
	d.Barcodes = sortedUnique(codes)

	for _, r := range p.Related {
		d.Related = append(d.Related, Related{ItemNumber: r.ItemNumber, RelationType: r.RelationType, DisplayOrder: r.DisplayOrder})
	}
	slices.SortFunc(d.Related, func(a, b Related) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.RelationType, b.RelationType), strings.Compare(a.ItemNumber, b.ItemNumber))
	})

	for _, a := range p.Attachments {
		d.Attachments = append(d.Attachments, Attachment{ID: a.ID, DocumentType: a.DocumentType, FileName: a.FileName,
			Title: a.Title, URL: webURL(a.URL), DefaultImage: a.DefaultImage, DisplayOrder: a.DisplayOrder})
	}
	slices.SortFunc(d.Attachments, func(a, b Attachment) int {
		return cmp.Or(cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.ID, b.ID))
	})
	d.ImageURL = imageURL(d.Attachments)
	return d, nil
}

// texts returns the name and description per language and the languages with a translation of
// their own, as D365 F&O shows a product's texts: the product's translation
// (EcoResProductTranslation, the ProductTranslations entity) in a language wins; without one,
// the product's own name and description, which D365 keeps in the system language, stand in.
// Sources: "EcoResProductTranslation Table: stores translations of a product in different
// languages" and EcoResProductMasterDimValueTranslation::getDescriptionOrDefaultDescription: "If
// a description in the language specified ... is not found then a description in the system
// language is returned" (learn.microsoft.com/previous-versions/dynamics/ax-2012/reference/gg962386
// and dn681289; see docs/erp-model.md).
func texts(p erp.Product, langs []string) (names, descs map[string]string, own []string) {
	// Several ERP ids can map to one code (en-us, en-gb): the id equal to the code wins, then
	// the smallest id, taking the first non-empty text of each kind.
	ts := slices.Clone(p.Translations)
	slices.SortStableFunc(ts, func(a, b erp.Translation) int {
		ea, eb := strings.EqualFold(a.Language, Language(a.Language)), strings.EqualFold(b.Language, Language(b.Language))
		if ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Language), strings.ToLower(b.Language))
	})
	name, desc := map[string]string{}, map[string]string{}
	for _, t := range ts {
		code := Language(t.Language)
		if _, ok := name[code]; !ok && t.Name != "" {
			name[code] = t.Name
		}
		if _, ok := desc[code]; !ok && t.Description != "" {
			desc[code] = t.Description
		}
	}
	names, descs = map[string]string{}, map[string]string{}
	for _, l := range langs {
		if n, ok := name[l]; ok {
			names[l] = n
			own = append(own, l)
		} else if p.Name != "" {
			names[l] = p.Name
		}
		if s, ok := desc[l]; ok {
			descs[l] = s
		} else if p.Description != "" {
			descs[l] = p.Description
		}
	}
	if len(names) == 0 {
		names = nil
	}
	if len(descs) == 0 {
		descs = nil
	}
	slices.Sort(own)
	return names, descs, own
}

// dimensionRank orders the four product dimensions; others come after them.
func dimensionRank(d string) int {
	switch d {
	case "color":
		return 0
	case "size":
		return 1
	case "style":
		return 2
	case "configuration":
		return 3
	}
	return 4
}

func dimensions(p erp.Product) ([]DimensionValue, Dimensions) {
	var out []DimensionValue
	var dims Dimensions
	for _, v := range p.DimensionValues {
		out = append(out, DimensionValue{Dimension: strings.ToLower(v.Dimension), Value: v.Value, Description: v.Description, DisplayOrder: v.DisplayOrder})
	}
	slices.SortFunc(out, func(a, b DimensionValue) int {
		return cmp.Or(cmp.Compare(dimensionRank(a.Dimension), dimensionRank(b.Dimension)), strings.Compare(a.Dimension, b.Dimension),
			cmp.Compare(a.DisplayOrder, b.DisplayOrder), strings.Compare(a.Value, b.Value))
	})
	// Facet values: the master's dimension values and whatever its variants use.
	for _, v := range out {
		switch v.Dimension {
		case "color":
			dims.Color = append(dims.Color, v.Value)
		case "size":
			dims.Size = append(dims.Size, v.Value)
		case "style":
			dims.Style = append(dims.Style, v.Value)
		case "configuration":
			dims.Configuration = append(dims.Configuration, v.Value)
		}
	}
	for _, v := range p.Variants {
		dims.Color = append(dims.Color, v.Color)
		dims.Size = append(dims.Size, v.Size)
		dims.Style = append(dims.Style, v.Style)
		dims.Configuration = append(dims.Configuration, v.Configuration)
	}
	dims.Color, dims.Size = sortedUnique(dims.Color), sortedUnique(dims.Size)
	dims.Style, dims.Configuration = sortedUnique(dims.Style), sortedUnique(dims.Configuration)
	return out, dims
}

func variants(p erp.Product) []Variant {
	describe := map[[2]string]string{}
	for _, v := range p.DimensionValues {
		describe[[2]string{strings.ToLower(v.Dimension), v.Value}] = v.Description
	}
	codes := map[erp.Dimensions][]string{}
	for _, b := range p.Barcodes {
		if !b.Dimensions.IsZero() {
			codes[b.Dimensions] = append(codes[b.Dimensions], b.Barcode)
		}
	}
	var out []Variant
	for _, v := range p.Variants {
		out = append(out, Variant{
			VariantNumber:            v.VariantNumber,
			Name:                     v.Name,
			Description:              v.Description,
			Color:                    v.Color,
			ColorDescription:         describeValue(describe, "color", v.Color),
			Size:                     v.Size,
			SizeDescription:          describeValue(describe, "size", v.Size),
			Style:                    v.Style,
			StyleDescription:         describeValue(describe, "style", v.Style),
			Configuration:            v.Configuration,
			ConfigurationDescription: describeValue(describe, "configuration", v.Configuration),
			Barcodes:                 sortedUnique(codes[v.Dimensions]),
		})
	}
	slices.SortFunc(out, func(a, b Variant) int { return strings.Compare(a.VariantNumber, b.VariantNumber) })
	return out
}

func describeValue(describe map[[2]string]string, dim, value string) string {
	if value == "" {
		return ""
	}
	return describe[[2]string{dim, value}]
}

// noDate is D365's "no date".
const noDate = "1900-01-01"

// date returns the YYYY-MM-DD part of an ERP date, or "" for none.
func date(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	if s == noDate {
		return ""
	}
	return s
}

func accountRank(code string) int {
	switch code {
	case erp.AccountCustomer:
		return 0
	case erp.AccountGroup:
		return 1
	case erp.AccountAll:
		return 2
	}
	return 3
}

func prices(n *numbers, lines []erp.PriceAgreement) []Price {
	var out []Price
	for _, l := range lines {
		p := Price{
			RecID:             l.RecID,
			AllItems:          l.AllItems,
			AccountCode:       l.AccountCode,
			Customer:          l.CustomerAccount,
			PriceGroup:        l.PriceGroup,
			Currency:          l.Currency,
			Price:             l.Price.String(),
			PriceValue:        n.value(l.Price, "Price", l.RecID),
			Unit:              l.Unit,
			FromQuantity:      l.FromQuantity.String(),
			FromQuantityValue: n.value(l.FromQuantity, "FromQuantity", l.RecID),
			ToQuantity:        l.ToQuantity.String(),
			ValidFrom:         date(l.ValidFrom),
			ValidTo:           date(l.ValidTo),
			Color:             l.Color,
			Size:              l.Size,
			Style:             l.Style,
			Configuration:     l.Configuration,
		}
		if !l.ToQuantity.IsZero() {
			v := n.value(l.ToQuantity, "ToQuantity", l.RecID)
			p.ToQuantityValue = &v
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Price) int {
		return cmp.Or(
			cmp.Compare(accountRank(a.AccountCode), accountRank(b.AccountCode)),
			strings.Compare(a.Customer, b.Customer),
			strings.Compare(a.PriceGroup, b.PriceGroup),
			strings.Compare(a.Currency, b.Currency),
			strings.Compare(a.Color, b.Color), strings.Compare(a.Size, b.Size),
			strings.Compare(a.Style, b.Style), strings.Compare(a.Configuration, b.Configuration),
			erp.Decimal(a.FromQuantity).Cmp(erp.Decimal(b.FromQuantity)),
			strings.Compare(a.ValidFrom, b.ValidFrom),
			cmp.Compare(a.RecID, b.RecID),
		)
	})
	return out
}

// priceRange is the smallest and largest of the base price and the All lines in currency
// (lines in any currency when the product has none).
func priceRange(n *numbers, base *float64, currency string, lines []erp.PriceAgreement) (lo, hi *float64) {
	var vs []float64
	if base != nil {
		vs = append(vs, *base)
	}
	for _, l := range lines {
		if l.AccountCode == erp.AccountAll && (currency == "" || l.Currency == currency) {
			vs = append(vs, n.value(l.Price, "Price", l.RecID))
		}
	}
	if len(vs) == 0 {
		return nil, nil
	}
	mn, mx := slices.Min(vs), slices.Max(vs)
	return &mn, &mx
}

// numbers turns exact decimals into doubles, for ranges and sorting only (the exact text is
// kept beside them), and keeps the first that has no finite double.
type numbers struct{ err error }

// value is d as the nearest double, or 0 when there is none (then n.err names field, of the
// price line recID when it is not 0): a canonical Decimal always parses, but one beyond about
// 1.8e308 is +Inf or -Inf, which encoding/json refuses and Elasticsearch would not store. A value
// too small for a double rounds to zero, which is its nearest double.
func (n *numbers) value(d erp.Decimal, field string, recID int64) float64 {
	v, _ := strconv.ParseFloat(d.String(), 64)
	if math.IsInf(v, 0) || math.IsNaN(v) {
		if n.err == nil {
			text := d.String()
			if len(text) > 24 {
				text = fmt.Sprintf("%s... (%d characters)", text[:20], len(text))
			}
			if recID != 0 {
				field = fmt.Sprintf("price line %d: %s", recID, field)
			}
			n.err = fmt.Errorf("%s %s is beyond the range of a double (about 1.8e308): the document cannot hold it", field, text)
		}
		return 0
	}
	return v
}

// webURL returns u (trimmed) when it is an absolute http or https URL, else "". Attachment URLs
// end up in a shop's <a href> and <img src>, where a javascript: or data: URL from an ERP record
// would run or show whatever that record says.
func webURL(u string) string {
	u = strings.TrimSpace(u)
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return ""
	}
	return u
}

func imageURL(as []Attachment) string {
	for _, a := range as {
		if a.DefaultImage && a.URL != "" {
			return a.URL
		}
	}
	for _, a := range as {
		if strings.EqualFold(a.DocumentType, "Image") && a.URL != "" {
			return a.URL
		}
	}
	return ""
}
