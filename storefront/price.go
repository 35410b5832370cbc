package storefront

import (
	"cmp"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/pricing"
)

// Shopper is the price context of the one customer a request is for, read from the customers
// index by the storefront, never taken from the client. The zero value is an anonymous visitor:
// they get the prices for all customers (account code All) in the product's currency.
type Shopper struct {
	// Account is the customer account; "" for an anonymous visitor.
	Account string
	// PriceGroup is the customer's price group; LineDiscountGroup their line discount group.
	PriceGroup        string
	LineDiscountGroup string
	// Currency is the customer's sales currency; "" takes the product's currency.
	Currency string
	// Language is the customer's language code ("de"), the default for texts.
	Language string
	// Blocked customers (on hold) see no prices.
	Blocked bool
}

// Anonymous reports whether s is a visitor without a customer account.
func (s Shopper) Anonymous() bool { return s.Account == "" }

// PriceQuery is what a price is asked for: a quantity on a date, optionally of one variant.
type PriceQuery struct {
	// Quantity is the ordered quantity; zero means 1.
	Quantity erp.Decimal
	// Date is the order date, YYYY-MM-DD; lines valid on it apply (inclusive at both ends).
	Date string
	// Variant restricts to lines for the variant's dimension values as well as generic lines;
	// the zero value asks for the product's own (generic) price.
	Variant VariantDims
}

// VariantDims are the product dimension values of a variant; empty ones are unset.
type VariantDims struct {
	Color, Size, Style, Configuration string
}

// IsZero reports whether no dimension is set.
func (v VariantDims) IsZero() bool { return v == VariantDims{} }

// Price sources: which agreement gave a Quote's unit price.
const (
	SourceCustomer   = "customer"    // a sales price agreement for the customer's account
	SourcePriceGroup = "price_group" // one for the customer's price group
	SourceAll        = "all"         // one for all customers
	SourceBase       = "base"        // no agreement applied: the released product's sales price
)

// Reasons a Quote has no price (pricing's).
const (
	ReasonBlocked    = pricing.ReasonBlocked    // the customer is on hold
	ReasonNoPrice    = pricing.ReasonNoPrice    // no agreement applies and the base price is zero
	ReasonNoCurrency = pricing.ReasonNoCurrency // no agreement applies, the base price is in another currency
	ReasonInvalid    = pricing.ReasonInvalid    // a decimal of the ERP's data is not a decimal
)

// Quote is what one shopper pays for one unit at one quantity on one date (docs/pricing.md), and
// where it comes from. When Available is false only Reason (and Currency, when known) are set.
type Quote struct {
	Available bool `json:"available"`
	// Price is the exact price of one unit after the line discount, canonical decimal text.
	Price    erp.Decimal `json:"price,omitempty"`
	Currency string      `json:"currency,omitempty"`
	// ListPrice is the released product's sales price when it is in Currency: the shop shows it
	// struck through when Price is lower.
	ListPrice erp.Decimal `json:"list_price,omitempty"`
	// UnitPrice is the price before the line discount; Source says where it comes from and RecID
	// is its sales price agreement line (0 for the base price).
	UnitPrice erp.Decimal `json:"unit_price,omitempty"`
	Source    string      `json:"source,omitempty"`
	RecID     int64       `json:"rec_id,omitempty"`
	// DiscountPercent is the combined percentage of the line discount, DiscountAmount the whole
	// discount per unit (UnitPrice - Price); Discounts are the line discount agreement lines
	// that gave it, in search order.
	DiscountPercent erp.Decimal `json:"discount_percent,omitempty"`
	DiscountAmount  erp.Decimal `json:"discount_amount,omitempty"`
	Discounts       []Discount  `json:"discounts,omitempty"`
	Reason          string      `json:"reason,omitempty"`
}

// Discount is a line discount agreement line that contributed to a Quote.
type Discount struct {
	RecID int64 `json:"rec_id"`
	// Relation is the PriceParameters field of its relation, e.g. "SalesLineGroupAll" (customer
	// line discount group, all items).
	Relation string `json:"relation"`
}

// Quoter prices the products of one company for one shopper: the company's activation and the
// line discounts for item groups and all items that can apply to them, read once for a page of
// products.
type Quoter struct {
	Shopper    Shopper
	Activation pricing.Activation
	// Discounts are the line discount lines for item groups and all items (a product's own lines
	// are on its document).
	Discounts []document.LineDiscount
}

// Quote returns what q.Shopper pays for one unit of p for pq. It is pure and deterministic.
func (q Quoter) Quote(p document.Product, pq PriceQuery) Quote {
	in := pricing.Input{
		Customer: pricing.Customer{Account: q.Shopper.Account, PriceGroup: q.Shopper.PriceGroup, LineDiscountGroup: q.Shopper.LineDiscountGroup,
			Currency: q.Shopper.Currency, OnHold: q.Shopper.Blocked},
		Item:       pricing.Item{Number: p.ItemNumber, DiscountGroup: p.DiscountGroup, Unit: p.Unit, BasePrice: erp.Decimal(p.BasePrice), Currency: p.Currency},
		Activation: q.Activation,
		Question: pricing.Question{Quantity: pq.Quantity, Date: pq.Date,
			Variant: pricing.Dims{Color: pq.Variant.Color, Size: pq.Variant.Size, Style: pq.Variant.Style, Configuration: pq.Variant.Configuration}},
	}
	for _, l := range p.Prices {
		in.Prices = append(in.Prices, pricing.PriceLine{RecID: l.RecID, Item: p.ItemNumber, Account: pricing.Code(l.AccountCode),
			AccountRelation: cmp.Or(l.Customer, l.PriceGroup), Dims: pricing.Dims(l.Dimensions),
			Price: erp.Decimal(l.Price), Terms: lineTerms(l.Currency, l.Unit, l.FromQuantity, l.ToQuantity, l.ValidFrom, l.ValidTo, l.FindNext)})
	}
	for _, ls := range [][]document.LineDiscount{p.LineDiscounts, q.Discounts} {
		for _, l := range ls {
			in.Discounts = append(in.Discounts, pricing.DiscountLine{RecID: l.RecID, Item: pricing.Code(l.ItemCode), ItemRelation: cmp.Or(l.ItemNumber, l.ItemGroup),
				Account: pricing.Code(l.AccountCode), AccountRelation: cmp.Or(l.Customer, l.CustomerGroup),
				Dims:     pricing.Dims(l.Dimensions),
				Percent1: erp.Decimal(l.Percent1), Percent2: erp.Decimal(l.Percent2), Amount: erp.Decimal(l.Amount),
				Terms: lineTerms(l.Currency, l.Unit, l.FromQuantity, l.ToQuantity, l.ValidFrom, l.ValidTo, l.FindNext)})
		}
	}
	r := pricing.Quote(in)
	if !r.Available {
		return Quote{Reason: r.Reason, Currency: r.Currency}
	}
	out := Quote{Available: true, Price: r.NetPrice, Currency: r.Currency, UnitPrice: r.UnitPrice, RecID: r.PriceLine,
		Source: sourceOf(r.PriceFrom), DiscountPercent: r.DiscountPercent, DiscountAmount: r.DiscountAmount}
	if p.BasePrice != "" && p.Currency == r.Currency {
		out.ListPrice = erp.Decimal(p.BasePrice)
	}
	for _, d := range r.Discounts {
		out.Discounts = append(out.Discounts, Discount{RecID: d.RecID, Relation: pricing.ParameterField(pricing.LineDiscount, d.Relation)})
	}
	return out
}

func lineTerms(currency, unit, from, to, validFrom, validTo string, findNext bool) pricing.Terms {
	return pricing.Terms{Currency: currency, Unit: unit, FromQuantity: erp.Decimal(from), ToQuantity: erp.Decimal(to),
		ValidFrom: validFrom, ValidTo: validTo, FindNext: findNext}
}

func sourceOf(r pricing.Relation) string {
	switch {
	case r.IsZero():
		return SourceBase
	case r.Account == pricing.Table:
		return SourceCustomer
	case r.Account == pricing.Group:
		return SourcePriceGroup
	}
	return SourceAll
}
