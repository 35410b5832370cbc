// Package pricing computes the unit price one customer pays for one item as D365 F&O does: the
// sales price agreements and line discount agreements that apply, searched in D365's order over
// the company's activated relations, with Find next, and combined exactly (docs/pricing.md).
package pricing

import (
	"cmp"
	"math/big"
	"slices"

	"github.com/erpsync/erpsync/erp"
)

// Code is D365's item code or account code of a trade agreement line (the ItemCode and
// AccountCode fields): one item or customer, a group, or all.
type Code string

// The three codes, in D365's search order (specific first).
const (
	Table Code = "Table"   // one item (ItemNumber) or one customer (CustomerAccountNumber)
	Group Code = "GroupId" // an item line discount group, a customer price or line discount group
	All   Code = "All"     // every item or every customer
)

// codes is the search order of either axis.
var codes = [3]Code{Table, Group, All}

func (c Code) index() int {
	switch c {
	case Table:
		return 0
	case Group:
		return 1
	case All:
		return 2
	}
	return -1
}

// Relation is one combination of account code and item code that the search visits.
type Relation struct {
	Account Code `json:"account"`
	Item    Code `json:"item"`
}

// IsZero reports whether r is the zero Relation (no agreement: the base price).
func (r Relation) IsZero() bool { return r == Relation{} }

// Dims are the product dimensions of a variant, or of a line (empty: any value).
type Dims struct {
	Color, Size, Style, Configuration string
}

// Terms are what every trade agreement line carries besides its relation and its amounts.
type Terms struct {
	// Currency is the line's currency (PriceCurrencyCode or DiscountCurrencyCode).
	Currency string
	// Unit is the line's unit symbol; "" matches any unit.
	Unit string
	// FromQuantity and ToQuantity bound the quantity: From <= q, and q < To unless To is zero.
	FromQuantity, ToQuantity erp.Decimal
	// ValidFrom and ValidTo (YYYY-MM-DD) bound the date, both inclusive; "" is open, and so are
	// D365's no-dates 1900-01-01 and 2154-12-31 by their value.
	ValidFrom, ValidTo string
	// FindNext is D365's "Find next" (WillSearchContinue): the search goes on after this line.
	FindNext bool
}

// PriceLine is one sales price agreement line (SalesPriceAgreements). Sales prices are item
// specific: Item is the item number the line is for.
type PriceLine struct {
	RecID int64
	Item  string
	// Account is Table (AccountRelation a customer account), Group (a customer price group) or
	// All (AccountRelation empty).
	Account         Code
	AccountRelation string
	Dims            Dims
	Price           erp.Decimal
	Terms
}

// DiscountLine is one line discount agreement line (SalesLineDiscountAgreements).
type DiscountLine struct {
	RecID int64
	// Item is Table (ItemRelation an item number), Group (an item line discount group) or All.
	Item         Code
	ItemRelation string
	// Account is Table (a customer account), Group (a customer line discount group) or All.
	Account         Code
	AccountRelation string
	Dims            Dims
	// Percent1 and Percent2 are DiscountPercentage1 and 2; Amount is DiscountAmount per unit.
	Percent1, Percent2, Amount erp.Decimal
	Terms
}

// Customer is the price context of the customer asking. The zero value is an anonymous visitor,
// who matches only lines for all customers, in the item's currency.
type Customer struct {
	// Account is the customer account; "" for an anonymous visitor.
	Account string
	// PriceGroup is the customer's price group; LineDiscountGroup its line discount group.
	PriceGroup, LineDiscountGroup string
	// Currency is the customer's sales currency; "" takes the item's.
	Currency string
	// OnHold is true for a customer on hold (OnHoldStatus other than No and Never): no price.
	OnHold bool
}

// Item is the released product priced.
type Item struct {
	Number string
	// DiscountGroup is the item's line discount group (SalesLineDiscountProductGroupCode).
	DiscountGroup string
	// Unit is the sales unit symbol the price is for.
	Unit string
	// BasePrice is the released product's SalesPrice, in Currency.
	BasePrice erp.Decimal
	Currency  string
}

// Activation is the company's trade agreement activation (D365's "Activate price/discount",
// table PriceParameters): which relations the search visits. The zero value activates nothing.
type Activation struct {
	// Price is indexed by account code (Table, Group, All); the item code of a price is Table.
	Price [3]bool
	// LineDiscount is indexed by account code, then item code.
	LineDiscount [3][3]bool
}

// AllActive returns an Activation with every price and line discount relation on.
func AllActive() Activation {
	var a Activation
	for i := range 3 {
		a.Price[i] = true
		for j := range 3 {
			a.LineDiscount[i][j] = true
		}
	}
	return a
}

// Kind is a kind of trade agreement the activation covers.
type Kind int

// The kinds supported.
const (
	SalesPrice Kind = iota
	LineDiscount
)

// Set turns relation r of kind k on or off. It ignores relations the kind does not have (a price
// for an item group or all items).
func (a *Activation) Set(k Kind, r Relation, on bool) {
	ai, ii := r.Account.index(), r.Item.index()
	if ai < 0 || ii < 0 {
		return
	}
	switch k {
	case SalesPrice:
		if r.Item == Table {
			a.Price[ai] = on
		}
	case LineDiscount:
		a.LineDiscount[ai][ii] = on
	}
}

// On reports whether relation r of kind k is searched.
func (a Activation) On(k Kind, r Relation) bool {
	ai, ii := r.Account.index(), r.Item.index()
	if ai < 0 || ii < 0 {
		return false
	}
	if k == SalesPrice {
		return r.Item == Table && a.Price[ai]
	}
	return a.LineDiscount[ai][ii]
}

// ParameterField is the name of PriceParameters' field that activates relation r of kind k
// ("SalesPriceGroupItem", "SalesLineAllAll"), "" for a relation the kind does not have.
func ParameterField(k Kind, r Relation) string {
	name := map[Code]string{Table: "Account", Group: "Group", All: "All"}
	item := map[Code]string{Table: "Item", Group: "Group", All: "All"}
	a, i := name[r.Account], item[r.Item]
	if a == "" || i == "" {
		return ""
	}
	switch k {
	case SalesPrice:
		if r.Item != Table {
			return ""
		}
		return "SalesPrice" + a + i
	case LineDiscount:
		return "SalesLine" + a + i
	}
	return ""
}

// Relations returns the relations of kind k in D365's search order.
func Relations(k Kind) []Relation {
	var out []Relation
	for _, a := range codes {
		for _, i := range codes {
			if k == LineDiscount || i == Table {
				out = append(out, Relation{Account: a, Item: i})
			}
		}
	}
	return out
}

// Question is what a price is asked for.
type Question struct {
	// Quantity is the ordered quantity in the item's sales unit; zero means 1.
	Quantity erp.Decimal
	// Date is the order date (YYYY-MM-DD); "" does not check validity dates.
	Date string
	// Variant are the variant's dimensions; the zero value asks for the product's own price.
	Variant Dims
}

// Input is everything one price depends on. Lines of other items, groups or customers may be
// included: they do not apply.
type Input struct {
	Customer   Customer
	Item       Item
	Activation Activation
	Prices     []PriceLine
	Discounts  []DiscountLine
	Question   Question
}

// Reasons a Result has no price.
const (
	ReasonBlocked    = "blocked"     // the customer is on hold
	ReasonNoPrice    = "no_price"    // no price line applies and the base price is zero
	ReasonNoCurrency = "no_currency" // no price line applies and the base price is in another currency
	ReasonInvalid    = "invalid"     // a decimal of the input is not a decimal
)

// Applied is one discount line that contributed to a Result.
type Applied struct {
	RecID    int64    `json:"rec_id"`
	Relation Relation `json:"relation"`
}

// Result is the price of one unit. When Available is false only Reason (and Currency, when
// known) are set.
type Result struct {
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	Currency  string `json:"currency,omitempty"`
	// UnitPrice is the price before the line discount: from PriceLine (in relation PriceFrom) or,
	// when PriceLine is 0, the base price.
	UnitPrice erp.Decimal `json:"unit_price,omitempty"`
	PriceFrom Relation    `json:"price_from"`
	PriceLine int64       `json:"price_line,omitempty"`
	// DiscountPercent is the combined percentage of the line discount (both percentages);
	// DiscountAmount is the whole discount per unit (UnitPrice - NetPrice).
	DiscountPercent erp.Decimal `json:"discount_percent,omitempty"`
	DiscountAmount  erp.Decimal `json:"discount_amount,omitempty"`
	// NetPrice is what one unit costs after the line discount.
	NetPrice  erp.Decimal `json:"net_price,omitempty"`
	Discounts []Applied   `json:"discounts,omitempty"`
}

// Quote returns the price of one unit of in.Item for in.Customer (docs/pricing.md, rules R1-R8).
// It is pure and deterministic, and safe for concurrent use.
func Quote(in Input) Result {
	c := in.Customer
	if c.OnHold {
		return Result{Reason: ReasonBlocked}
	}
	currency := cmp.Or(c.Currency, in.Item.Currency)
	q := question{Question: in.Question, currency: currency, unit: in.Item.Unit, customer: c}
	qty, err := rat(cmp.Or(in.Question.Quantity, "1"))
	if err != nil {
		return Result{Reason: ReasonInvalid, Currency: currency}
	}
	if qty.Sign() == 0 {
		qty = ratOne
	}
	q.qty = qty

	// R3, R4: the price search.
	res := Result{Currency: currency}
	var best *big.Rat
	prices := slices.Clone(in.Prices)
	slices.SortStableFunc(prices, func(a, b PriceLine) int { return cmp.Compare(a.RecID, b.RecID) })
search:
	for _, r := range Relations(SalesPrice) {
		if !in.Activation.On(SalesPrice, r) {
			continue
		}
		for _, l := range prices {
			if l.Account != r.Account || l.Item != in.Item.Number || l.Item == "" {
				continue
			}
			ok, err := q.applies(l.Account, l.AccountRelation, c.PriceGroup, l.Dims, l.Terms)
			if err != nil {
				return Result{Reason: ReasonInvalid, Currency: currency}
			}
			if !ok {
				continue
			}
			p, err := rat(l.Price)
			if err != nil {
				return Result{Reason: ReasonInvalid, Currency: currency}
			}
			if best == nil || p.Cmp(best) < 0 {
				best, res.PriceFrom, res.PriceLine = p, r, l.RecID
			}
			if !l.FindNext {
				break search
			}
		}
	}
	// R5: the base price.
	if best == nil {
		base, err := rat(in.Item.BasePrice)
		if err != nil {
			return Result{Reason: ReasonInvalid, Currency: currency}
		}
		if base.Sign() == 0 {
			return Result{Reason: ReasonNoPrice, Currency: currency}
		}
		if in.Item.Currency != "" && currency != in.Item.Currency {
			return Result{Reason: ReasonNoCurrency, Currency: currency}
		}
		best = base
	}
	res.UnitPrice = decimal(best)

	// R6: the line discount search, accumulating.
	amount, p1, p2 := new(big.Rat), new(big.Rat), new(big.Rat)
	discounts := slices.Clone(in.Discounts)
	slices.SortStableFunc(discounts, func(a, b DiscountLine) int { return cmp.Compare(a.RecID, b.RecID) })
discount:
	for _, r := range Relations(LineDiscount) {
		if !in.Activation.On(LineDiscount, r) {
			continue
		}
		for _, l := range discounts {
			if l.Account != r.Account || l.Item != r.Item || !itemMatches(l, in.Item) {
				continue
			}
			ok, err := q.applies(l.Account, l.AccountRelation, c.LineDiscountGroup, l.Dims, l.Terms)
			if err != nil {
				return Result{Reason: ReasonInvalid, Currency: currency}
			}
			if !ok {
				continue
			}
			var vals [3]*big.Rat
			for i, d := range []erp.Decimal{l.Amount, l.Percent1, l.Percent2} {
				if vals[i], err = rat(d); err != nil {
					return Result{Reason: ReasonInvalid, Currency: currency}
				}
			}
			amount, p1, p2 = add(amount, vals[0]), add(p1, vals[1]), add(p2, vals[2])
			res.Discounts = append(res.Discounts, Applied{RecID: l.RecID, Relation: r})
			if !l.FindNext {
				break discount
			}
		}
	}
	// R6, R7: cap the percentages, deduct the amount, then the percentages in turn.
	p1, p2 = capPercent(p1), capPercent(p2)
	keep := mul(keepOf(p1), keepOf(p2))
	net := mul(sub(best, amount), keep)
	if net.Sign() < 0 {
		net = new(big.Rat)
	}
	res.Available = true
	res.NetPrice = decimal(net)
	res.DiscountAmount = decimal(sub(best, net))
	res.DiscountPercent = decimal(mul(sub(ratOne, keep), ratHundred))
	return res
}

func capPercent(p *big.Rat) *big.Rat {
	if p.Cmp(ratHundred) > 0 {
		return ratHundred
	}
	if p.Sign() < 0 {
		return ratZero
	}
	return p
}

// itemMatches reports whether a discount line's item relation names item.
func itemMatches(l DiscountLine, item Item) bool {
	switch l.Item {
	case Table:
		return l.ItemRelation != "" && l.ItemRelation == item.Number
	case Group:
		return l.ItemRelation != "" && l.ItemRelation == item.DiscountGroup
	case All:
		return true
	}
	return false
}

// question is a Question with what every line is checked against.
type question struct {
	Question
	qty      *big.Rat
	currency string
	unit     string
	customer Customer
}

// applies checks rule R2 for a line's account relation and terms; group is the customer's
// group of the line's kind (price group or line discount group).
func (q question) applies(account Code, relation, group string, dims Dims, t Terms) (bool, error) {
	c := q.customer
	switch account {
	case Table:
		if c.Account == "" || relation != c.Account {
			return false, nil
		}
	case Group:
		if c.Account == "" || group == "" || relation != group {
			return false, nil
		}
	case All:
	default:
		return false, nil
	}
	if t.Currency != q.currency {
		return false, nil
	}
	if t.Unit != "" && t.Unit != q.unit {
		return false, nil
	}
	if d := q.Date; d != "" && (t.ValidFrom != "" && d < t.ValidFrom || t.ValidTo != "" && d > t.ValidTo) {
		return false, nil
	}
	from, err := rat(t.FromQuantity)
	if err != nil {
		return false, err
	}
	to, err := rat(t.ToQuantity)
	if err != nil {
		return false, err
	}
	if from.Cmp(q.qty) > 0 || to.Sign() != 0 && q.qty.Cmp(to) >= 0 {
		return false, nil
	}
	v := q.Variant
	for _, d := range [][2]string{{dims.Color, v.Color}, {dims.Size, v.Size}, {dims.Style, v.Style}, {dims.Configuration, v.Configuration}} {
		if d[0] != "" && d[0] != d[1] {
			return false, nil
		}
	}
	return true, nil
}
