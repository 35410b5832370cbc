package storefront

import (
	"cmp"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
)

// Shopper is the price context of the one customer a request is for, read from the customers
// index by the storefront, never taken from the client. The zero value is an anonymous visitor:
// they get the prices for everybody (account code All) in the product's currency.
type Shopper struct {
	// Account is the customer account; "" for an anonymous visitor.
	Account    string
	PriceGroup string
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

// Price sources: which rule produced a Quote.
const (
	SourceCustomer   = "customer"    // a trade agreement line for the customer's account
	SourcePriceGroup = "price_group" // a line for the customer's price group
	SourceAll        = "all"         // a line for everybody
	SourceBase       = "base"        // the released product's sales price, no line applied
)

// Reasons a Quote has no price.
const (
	ReasonBlocked    = "blocked"     // the customer is on hold
	ReasonNoPrice    = "no_price"    // no line applies and the product has no base price
	ReasonNoCurrency = "no_currency" // no line in the customer's currency, base price in another
)

// Quote is the price one shopper pays for one unit at one quantity on one date. When Available
// is false Price is "" and Reason says why.
type Quote struct {
	Available bool `json:"available"`
	// Price is the exact unit price as canonical decimal text ("12.5").
	Price    erp.Decimal `json:"price,omitempty"`
	Currency string      `json:"currency,omitempty"`
	// Source is one of the Source* constants; RecID is the trade agreement line's id (0 for
	// the base price).
	Source string `json:"source,omitempty"`
	RecID  int64  `json:"rec_id,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PriceFor returns what s pays for one unit of p for q. It is pure and deterministic.
//
// The rules, after D365 F&O's trade agreement price search (see README.md):
//   - A blocked customer gets no price.
//   - A line applies when it is for the shopper (their account, their price group, or All;
//     an anonymous visitor only All), in the shopper's currency, valid on q.Date (ValidFrom <=
//     date <= ValidTo, absent bounds open), its quantity break holds (FromQuantity <= quantity
//     < ToQuantity, ToQuantity 0 open), and its dimensions are empty or equal the variant's.
//   - Applicable lines are ranked, first by account (customer, price group, all), then by item
//     relation (this item before all items), then variant-specific before generic; only the
//     best rank counts ("find next" off between ranks). Within it the lowest price wins (ties:
//     the lowest RecID).
//   - With no applicable line the product's base price applies, when it is in the shopper's
//     currency.
func PriceFor(p document.Product, s Shopper, q PriceQuery) Quote {
	if s.Blocked {
		return Quote{Reason: ReasonBlocked}
	}
	currency := cmp.Or(s.Currency, p.Currency)
	qty := q.Quantity
	if qty.IsZero() {
		qty = "1"
	}
	var best *document.Price
	bestRank := 0
	for i := range p.Prices {
		l := &p.Prices[i]
		r, ok := rank(l, s, currency, qty, q)
		if !ok {
			continue
		}
		if best == nil || r < bestRank || r == bestRank && cheaper(l, best) {
			best, bestRank = l, r
		}
	}
	if best != nil {
		return Quote{Available: true, Price: erp.Decimal(best.Price), Currency: best.Currency, Source: sourceOf(best.AccountCode), RecID: best.RecID}
	}
	if p.BasePrice == "" || erp.Decimal(p.BasePrice).IsZero() {
		return Quote{Reason: ReasonNoPrice}
	}
	if p.Currency != "" && currency != p.Currency {
		return Quote{Reason: ReasonNoCurrency, Currency: currency}
	}
	return Quote{Available: true, Price: erp.Decimal(p.BasePrice), Currency: cmp.Or(p.Currency, currency), Source: SourceBase}
}

// rank returns the precedence of l for the shopper (lower wins) and whether it applies at all.
func rank(l *document.Price, s Shopper, currency string, qty erp.Decimal, q PriceQuery) (int, bool) {
	var account int
	switch l.AccountCode {
	case erp.AccountCustomer:
		if s.Anonymous() || l.Customer != s.Account {
			return 0, false
		}
		account = 0
	case erp.AccountGroup:
		if s.Anonymous() || s.PriceGroup == "" || l.PriceGroup != s.PriceGroup {
			return 0, false
		}
		account = 1
	case erp.AccountAll:
		account = 2
	default:
		return 0, false
	}
	if l.Currency != currency {
		return 0, false
	}
	if q.Date != "" && (l.ValidFrom != "" && q.Date < l.ValidFrom || l.ValidTo != "" && q.Date > l.ValidTo) {
		return 0, false
	}
	if erp.Decimal(l.FromQuantity).Cmp(qty) > 0 {
		return 0, false
	}
	if to := erp.Decimal(l.ToQuantity); !to.IsZero() && qty.Cmp(to) >= 0 {
		return 0, false
	}
	specific, ok := matchDims(l, q.Variant)
	if !ok {
		return 0, false
	}
	item := 0
	if l.AllItems {
		item = 1
	}
	variant := 1
	if specific {
		variant = 0
	}
	return account*4 + item*2 + variant, true
}

// matchDims reports whether l's dimensions fit v (each empty or equal) and whether l names any.
func matchDims(l *document.Price, v VariantDims) (specific, ok bool) {
	for _, d := range [][2]string{{l.Color, v.Color}, {l.Size, v.Size}, {l.Style, v.Style}, {l.Configuration, v.Configuration}} {
		if d[0] == "" {
			continue
		}
		if d[0] != d[1] {
			return false, false
		}
		specific = true
	}
	return specific, true
}

func cheaper(a, b *document.Price) bool {
	switch erp.Decimal(a.Price).Cmp(erp.Decimal(b.Price)) {
	case -1:
		return true
	case 1:
		return false
	}
	return a.RecID < b.RecID
}

func sourceOf(accountCode string) string {
	switch accountCode {
	case erp.AccountCustomer:
		return SourceCustomer
	case erp.AccountGroup:
		return SourcePriceGroup
	}
	return SourceAll
}
