// Package pricecheck is an independent reading of docs/pricing.md for tests: it computes the
// price a customer pays straight from the ERP's rows, by D365's field names, and must not import
// or copy the pricing package (the engine under test).
package pricecheck

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Row is one ERP record, every value as text (decimals and dates as written, integers in base 10).
type Row map[string]string

// Data is what one question is asked against. Lines of other items, groups or customers may be
// included.
type Data struct {
	Product    Row   // ReleasedProductsV2
	Customer   Row   // CustomersV3; nil for an anonymous visitor
	Activation Row   // PriceParameters of the product's company
	Prices     []Row // SalesPriceAgreements
	Discounts  []Row // SalesLineDiscountAgreements
}

// Ask is the question: a quantity ("" is 1), a date (YYYY-MM-DD) and, for a variant, its
// dimension values.
type Ask struct {
	Quantity, Date                    string
	Color, Size, Style, Configuration string
}

// Answer is the checker's price. Price, Net and DiscountPercent are canonical decimal text.
type Answer struct {
	OK       bool
	Reason   string // blocked, no_price, no_currency (when not OK)
	Currency string
	Price    string // the unit price before the line discount
	// PriceRec is the RecordId of the price line, "" for the base price; PriceAccount its
	// AccountCode.
	PriceRec, PriceAccount string
	Net, DiscountPercent   string
	Discounts              []string // RecordIds of the discount lines applied, in search order
	// Diagnostics for coverage: the relations (PriceParameters field names) of the applied
	// discounts, whether a line without Find next stopped a search while activated relations were
	// left, how many price lines were visited, and the deactivated relations that held a line
	// that would have applied.
	DiscountRelations             []string
	PriceStopped, DiscountStopped bool
	PricesVisited                 int
	Inactive                      []string
}

// relation is one row of the activation table in docs/pricing.md.
type relation struct {
	field         string // PriceParameters field
	account, item string // AccountCode and ItemCode
}

// The search orders of docs/pricing.md (priorities 1-9, specific first).
var (
	priceRelations = []relation{
		{"SalesPriceAccountItem", "Table", "Table"},
		{"SalesPriceGroupItem", "GroupId", "Table"},
		{"SalesPriceAllItem", "All", "Table"},
	}
	lineRelations = []relation{
		{"SalesLineAccountItem", "Table", "Table"}, {"SalesLineAccountGroup", "Table", "GroupId"}, {"SalesLineAccountAll", "Table", "All"},
		{"SalesLineGroupItem", "GroupId", "Table"}, {"SalesLineGroupGroup", "GroupId", "GroupId"}, {"SalesLineGroupAll", "GroupId", "All"},
		{"SalesLineAllItem", "All", "Table"}, {"SalesLineAllGroup", "All", "GroupId"}, {"SalesLineAllAll", "All", "All"},
	}
)

// Expect answers a question by the rules R1-R8 of docs/pricing.md.
func Expect(d Data, a Ask) (Answer, error) {
	p, c := d.Product, d.Customer
	// R1.
	if c != nil {
		if h := c["OnHoldStatus"]; h != "" && h != "No" && h != "Never" {
			return Answer{Reason: "blocked"}, nil
		}
	}
	currency := p["SalesCurrencyCode"]
	if c != nil && c["SalesCurrencyCode"] != "" {
		currency = c["SalesCurrencyCode"]
	}
	ans := Answer{Currency: currency}
	qtyText := a.Quantity
	if qtyText == "" {
		qtyText = "1"
	}
	qty, err := fixed(qtyText)
	if err != nil {
		return ans, err
	}
	if qty.Sign() == 0 {
		qty = fixedOne()
	}
	// R2, for a line of either kind ("price" or "discount").
	applies := func(l Row, kind string) (bool, error) {
		switch l["AccountCode"] {
		case "Table":
			if c == nil || c["CustomerAccount"] == "" || l["CustomerAccountNumber"] != c["CustomerAccount"] {
				return false, nil
			}
		case "GroupId":
			lineGroup, custGroup := l["PriceCustomerGroupCode"], "DiscountPriceGroupId"
			if kind == "discount" {
				lineGroup, custGroup = l["LineDiscountCustomerGroupCode"], "LineDiscountCode"
			}
			if c == nil || c["CustomerAccount"] == "" || c[custGroup] == "" || lineGroup != c[custGroup] {
				return false, nil
			}
		case "All":
		default:
			return false, nil
		}
		// D365 spells the price entity's unit QuantityUnitySymbol (sic), the discount entity's
		// QuantityUnitSymbol.
		cur, from, to, unit := l["PriceCurrencyCode"], l["PriceApplicableFromDate"], l["PriceApplicableToDate"], l["QuantityUnitySymbol"]
		if kind == "discount" {
			cur, from, to, unit = l["DiscountCurrencyCode"], l["DiscountApplicableFromDate"], l["DiscountApplicableToDate"], l["QuantityUnitSymbol"]
		}
		if cur != currency {
			return false, nil
		}
		if unit != "" && unit != p["SalesUnitSymbol"] {
			return false, nil
		}
		if a.Date != "" && (from != "" && a.Date < from[:10] || to != "" && a.Date > to[:10]) {
			return false, nil
		}
		lo, err := fixed(l["FromQuantity"])
		if err != nil {
			return false, err
		}
		hi, err := fixed(l["ToQuantity"])
		if err != nil {
			return false, err
		}
		if qty.Cmp(lo) < 0 || hi.Sign() != 0 && qty.Cmp(hi) >= 0 {
			return false, nil
		}
		want := map[string]string{"ProductColorId": a.Color, "ProductSizeId": a.Size, "ProductStyleId": a.Style, "ProductConfigurationId": a.Configuration}
		for f, v := range want {
			if l[f] != "" && l[f] != v {
				return false, nil
			}
		}
		return true, nil
	}
	byRec := func(lines []Row, key string) []Row {
		out := slices.Clone(lines)
		slices.SortStableFunc(out, func(x, y Row) int {
			a, _ := strconv.ParseInt(x[key], 10, 64)
			b, _ := strconv.ParseInt(y[key], 10, 64)
			return int(a - b)
		})
		return out
	}
	on := func(field string) bool { return d.Activation[field] == "Yes" }

	// R3, R4.
	var best *big.Int
	var left bool
	prices := byRec(d.Prices, "RecordId")
	stopped := false
	for ri, r := range priceRelations {
		for _, l := range prices {
			if stopped {
				break
			}
			if l["ItemCode"] != "Table" || l["ItemNumber"] == "" || l["ItemNumber"] != p["ItemNumber"] || l["AccountCode"] != r.account {
				continue
			}
			ok, err := applies(l, "price")
			if err != nil {
				return ans, err
			}
			if !ok {
				continue
			}
			if !on(r.field) {
				if !slices.Contains(ans.Inactive, r.field) {
					ans.Inactive = append(ans.Inactive, r.field)
				}
				continue
			}
			v, err := fixed(l["Price"])
			if err != nil {
				return ans, err
			}
			ans.PricesVisited++
			if best == nil || v.Cmp(best) < 0 {
				best, ans.PriceRec, ans.PriceAccount = v, l["RecordId"], r.account
			}
			if l["WillSearchContinue"] != "Yes" {
				stopped = true
				for _, later := range priceRelations[ri+1:] {
					left = left || on(later.field)
				}
			}
		}
	}
	ans.PriceStopped = stopped && left
	// R5.
	if best == nil {
		base, err := fixed(p["SalesPrice"])
		if err != nil {
			return ans, err
		}
		if base.Sign() == 0 {
			return Answer{Reason: "no_price", Currency: currency, Inactive: ans.Inactive}, nil
		}
		if currency != p["SalesCurrencyCode"] {
			return Answer{Reason: "no_currency", Currency: currency, Inactive: ans.Inactive}, nil
		}
		best = base
	}

	// R6.
	amount, p1, p2 := new(big.Int), new(big.Int), new(big.Int)
	discounts := byRec(d.Discounts, "RecordId")
	stopped, left = false, false
	for ri, r := range lineRelations {
		for _, l := range discounts {
			if stopped {
				break
			}
			if l["AccountCode"] != r.account || l["ItemCode"] != r.item {
				continue
			}
			switch r.item {
			case "Table":
				if l["ItemNumber"] == "" || l["ItemNumber"] != p["ItemNumber"] {
					continue
				}
			case "GroupId":
				if g := p["SalesLineDiscountProductGroupCode"]; g == "" || l["LineDiscountProductGroupCode"] != g {
					continue
				}
			}
			ok, err := applies(l, "discount")
			if err != nil {
				return ans, err
			}
			if !ok {
				continue
			}
			if !on(r.field) {
				if !slices.Contains(ans.Inactive, r.field) {
					ans.Inactive = append(ans.Inactive, r.field)
				}
				continue
			}
			for _, v := range []struct {
				sum   *big.Int
				field string
			}{{amount, "DiscountAmount"}, {p1, "DiscountPercentage1"}, {p2, "DiscountPercentage2"}} {
				x, err := fixed(l[v.field])
				if err != nil {
					return ans, err
				}
				v.sum.Add(v.sum, x)
			}
			ans.Discounts = append(ans.Discounts, l["RecordId"])
			ans.DiscountRelations = append(ans.DiscountRelations, r.field)
			if l["WillSearchContinue"] != "Yes" {
				stopped = true
				for _, later := range lineRelations[ri+1:] {
					left = left || on(later.field)
				}
			}
		}
	}
	ans.DiscountStopped = stopped && left
	// R6 caps, R7.
	hundred := fixedInt(100)
	for _, pct := range []*big.Int{p1, p2} {
		if pct.Cmp(hundred) > 0 {
			pct.Set(hundred)
		}
		if pct.Sign() < 0 {
			pct.SetInt64(0)
		}
	}
	// keep = (100 - p1)(100 - p2) / 10000
	keep, err := divExact(times(new(big.Int).Sub(hundred, p1), new(big.Int).Sub(hundred, p2)), fixedInt(10000))
	if err != nil {
		return ans, err
	}
	net := times(new(big.Int).Sub(best, amount), keep)
	if net.Sign() < 0 {
		net.SetInt64(0)
	}
	ans.OK = true
	ans.Price = text(best)
	ans.Net = text(net)
	ans.DiscountPercent = text(times(new(big.Int).Sub(fixedOne(), keep), hundred))
	return ans, nil
}

// The checker's numbers are integers in units of 10^-scale: enough for prices (6 decimals) times
// two percentages (8 each).
const scale = 30

var unit = new(big.Int).Exp(big.NewInt(10), big.NewInt(scale), nil)

func fixedOne() *big.Int        { return new(big.Int).Set(unit) }
func fixedInt(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), unit) }

// fixed parses decimal text ("" is zero).
func fixed(s string) (*big.Int, error) {
	if s == "" {
		return new(big.Int), nil
	}
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if len(frac) > scale || whole == "" && frac == "" {
		return nil, fmt.Errorf("pricecheck: %q is not a decimal it can hold", s)
	}
	digits := whole + frac + strings.Repeat("0", scale-len(frac))
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("pricecheck: %q is not a decimal", s)
	}
	if neg {
		n.Neg(n)
	}
	return n, nil
}

// times multiplies two fixed-point numbers; the result must fit the scale exactly (it does for
// the inputs of docs/pricing.md), else it panics.
func times(a, b *big.Int) *big.Int {
	q, m := new(big.Int).QuoRem(new(big.Int).Mul(a, b), unit, new(big.Int))
	if m.Sign() != 0 {
		panic(fmt.Sprintf("pricecheck: %s x %s is not exact at scale %d", a, b, scale))
	}
	return q
}

// divExact divides a fixed-point a by fixed-point b exactly, or fails.
func divExact(a, b *big.Int) (*big.Int, error) {
	num := new(big.Int).Mul(a, unit)
	q, m := new(big.Int).QuoRem(num, b, new(big.Int))
	if m.Sign() != 0 {
		return nil, fmt.Errorf("pricecheck: %s / %s is not exact at scale %d", a, b, scale)
	}
	return q, nil
}

// text writes a fixed-point number as canonical decimal text: no trailing zeros, no trailing
// point, "0" for zero.
func text(n *big.Int) string {
	neg := n.Sign() < 0
	s := new(big.Int).Abs(n).String()
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	whole, frac := s[:len(s)-scale], strings.TrimRight(s[len(s)-scale:], "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}
