package pricing

import (
	"math/big"
	"slices"
	"testing"

	"github.com/erpsync/erpsync/erp"
)

var open = Terms{Currency: "USD", Unit: "ea", FromQuantity: "1", FindNext: true}

func stop(t Terms) Terms { t.FindNext = false; return t }

func price(rec int64, account Code, relation, p string, t Terms) PriceLine {
	return PriceLine{RecID: rec, Item: "1000", Account: account, AccountRelation: relation, Price: erp.Decimal(p), Terms: t}
}

func disc(rec int64, account Code, relation string, item Code, itemRel, p1, p2, amount string, t Terms) DiscountLine {
	return DiscountLine{RecID: rec, Item: item, ItemRelation: itemRel, Account: account, AccountRelation: relation,
		Percent1: erp.Decimal(p1), Percent2: erp.Decimal(p2), Amount: erp.Decimal(amount), Terms: t}
}

var (
	chair = Item{Number: "1000", DiscountGroup: "FURN", Unit: "ea", BasePrice: "904.98", Currency: "USD"}
	us001 = Customer{Account: "US-001", PriceGroup: "Wholesale", LineDiscountGroup: "Reseller", Currency: "USD"}
)

func TestPriceSearch(t *testing.T) {
	lines := []PriceLine{
		price(5, All, "", "850", open),
		price(3, Group, "Wholesale", "800", open),
		price(4, Group, "Retail", "700", open),    // another group
		price(2, Table, "US-002", "600", open),    // another customer
		price(9, Table, "US-001", "820", open),    // the customer's own, higher than the group's
		price(8, Table, "US-001", "810", open),    // a second own line, lower
		price(7, All, "", "780", stop(open)),      // lowest, but only reached when nothing stops before
		price(6, Group, "Wholesale", "790", open), // the group's second line
	}
	cases := []struct {
		name  string
		act   func(*Activation)
		lines []PriceLine
		want  string
		from  Relation
		rec   int64
	}{
		{"find next everywhere: the lowest of all activated relations", nil, lines, "780", Relation{All, Table}, 7},
		{"all customers off: the lowest of customer and group lines", func(a *Activation) { a.Set(SalesPrice, Relation{All, Table}, false) }, lines, "790", Relation{Group, Table}, 6},
		{"only the customer relation", func(a *Activation) {
			a.Set(SalesPrice, Relation{All, Table}, false)
			a.Set(SalesPrice, Relation{Group, Table}, false)
		}, lines, "810", Relation{Table, Table}, 8},
		{"nothing activated: base price", func(a *Activation) { *a = Activation{} }, lines, "904.98", Relation{}, 0},
		{"a customer line without find next stops the search", nil,
			[]PriceLine{price(1, Table, "US-001", "820", stop(open)), price(2, Group, "Wholesale", "500", open)}, "820", Relation{Table, Table}, 1},
		{"within a relation, the line visited first stops; a lower one visited earlier still counts", nil,
			[]PriceLine{price(2, Group, "Wholesale", "700", stop(open)), price(1, Group, "Wholesale", "650", open), price(3, Group, "Wholesale", "600", open)},
			"650", Relation{Group, Table}, 1},
		{"equal prices: the first visited is the source", nil,
			[]PriceLine{price(4, All, "", "700", open), price(2, Group, "Wholesale", "700", open)}, "700", Relation{Group, Table}, 2},
		{"a line of another item does not apply", nil,
			[]PriceLine{{RecID: 1, Item: "1001", Account: All, Price: "1", Terms: open}}, "904.98", Relation{}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act := AllActive()
			if c.act != nil {
				c.act(&act)
			}
			r := Quote(Input{Customer: us001, Item: chair, Activation: act, Prices: c.lines, Question: Question{Quantity: "1", Date: "2026-06-01"}})
			if !r.Available || r.UnitPrice != erp.Decimal(c.want) || r.PriceFrom != c.from || r.PriceLine != c.rec || r.NetPrice != r.UnitPrice {
				t.Errorf("got %+v, want price %s from %v line %d", r, c.want, c.from, c.rec)
			}
		})
	}
}

func TestLineTerms(t *testing.T) {
	breaks := Terms{Currency: "USD", Unit: "ea", FromQuantity: "10", ToQuantity: "50", ValidFrom: "2026-01-01", ValidTo: "2026-03-31", FindNext: true}
	l := price(1, All, "", "100", breaks)
	red := l
	red.RecID, red.Dims, red.Price, red.Terms = 2, Dims{Color: "Red"}, "90", open
	cases := []struct {
		name string
		q    Question
		c    Customer
		want string
	}{
		{"below the break", Question{Quantity: "9.999", Date: "2026-02-01"}, us001, "904.98"},
		{"at From", Question{Quantity: "10", Date: "2026-02-01"}, us001, "100"},
		{"just below To", Question{Quantity: "49.5", Date: "2026-02-01"}, us001, "100"},
		{"at To (exclusive)", Question{Quantity: "50", Date: "2026-02-01"}, us001, "904.98"},
		{"first valid day", Question{Quantity: "10", Date: "2026-01-01"}, us001, "100"},
		{"last valid day", Question{Quantity: "10", Date: "2026-03-31"}, us001, "100"},
		{"day after", Question{Quantity: "10", Date: "2026-04-01"}, us001, "904.98"},
		{"other currency", Question{Quantity: "10", Date: "2026-02-01"}, Customer{Account: "X", Currency: "EUR"}, ""},
		{"anonymous visitor gets lines for all", Question{Quantity: "20", Date: "2026-02-01"}, Customer{}, "100"},
		{"the variant's line applies to the variant", Question{Quantity: "1", Date: "2026-02-01", Variant: Dims{Color: "Red", Size: "M"}}, us001, "90"},
		{"a variant line does not apply to the product", Question{Quantity: "1", Date: "2026-02-01"}, us001, "904.98"},
		{"nor to another variant", Question{Quantity: "1", Date: "2026-02-01", Variant: Dims{Color: "Blue"}}, us001, "904.98"},
		{"zero quantity is one", Question{Date: "2026-02-01", Variant: Dims{Color: "Red"}}, us001, "90"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Quote(Input{Customer: c.c, Item: chair, Activation: AllActive(), Prices: []PriceLine{l, red}, Question: c.q})
			if c.want == "" {
				if r.Available || r.Reason != ReasonNoCurrency {
					t.Errorf("got %+v, want no price (no_currency)", r)
				}
				return
			}
			if r.UnitPrice != erp.Decimal(c.want) {
				t.Errorf("got %+v, want %s", r, c.want)
			}
		})
	}
}

func TestUnitMustMatch(t *testing.T) {
	box := open
	box.Unit = "box"
	anyUnit := open
	anyUnit.Unit = ""
	r := Quote(Input{Customer: us001, Item: chair, Activation: AllActive(),
		Prices: []PriceLine{price(1, All, "", "10", box), price(2, All, "", "20", anyUnit)}, Question: Question{Quantity: "1"}})
	if r.PriceLine != 2 {
		t.Errorf("got %+v, want the line without a unit", r)
	}
}

func TestNoPrice(t *testing.T) {
	cases := []struct {
		name   string
		c      Customer
		item   Item
		reason string
	}{
		{"on hold", Customer{Account: "US-005", OnHold: true}, chair, ReasonBlocked},
		{"zero base price", us001, Item{Number: "1000", Unit: "ea", Currency: "USD"}, ReasonNoPrice},
		{"base price in another currency", Customer{Account: "US-009", Currency: "EUR"}, chair, ReasonNoCurrency},
		{"bad decimal", us001, Item{Number: "1000", BasePrice: "1,5", Currency: "USD"}, ReasonInvalid},
	}
	for _, c := range cases {
		r := Quote(Input{Customer: c.c, Item: c.item, Activation: AllActive(), Question: Question{Quantity: "1"}})
		if r.Available || r.Reason != c.reason {
			t.Errorf("%s: got %+v, want reason %s", c.name, r, c.reason)
		}
	}
}

func TestLineDiscounts(t *testing.T) {
	item := disc(1, Table, "US-001", Table, "1000", "2", "", "", open)
	itemGroupCust := disc(2, Table, "US-001", Group, "FURN", "3", "", "", open)
	allCust := disc(3, Table, "US-001", All, "", "1", "", "", open)
	itemCustGroup := disc(4, Group, "Reseller", Table, "1000", "", "", "5", open)
	groupGroup := disc(5, Group, "Reseller", Group, "FURN", "4", "", "", open)
	allGroup := disc(6, Group, "Reseller", All, "", "", "10", "", open)
	itemAll := disc(7, All, "", Table, "1000", "0.5", "", "", open)
	groupAll := disc(8, All, "", Group, "FURN", "1.5", "", "", open)
	allAll := disc(9, All, "", All, "", "", "", "1.25", open)
	other := []DiscountLine{
		disc(10, Table, "US-002", All, "", "50", "", "", open), // another customer
		disc(11, Group, "Key", All, "", "50", "", "", open),    // another customer group
		disc(12, All, "", Group, "ELEC", "50", "", "", open),   // another item group
		disc(13, All, "", Table, "1001", "50", "", "", open),   // another item
		disc(14, All, "", All, "", "50", "", "", Terms{Currency: "EUR", FromQuantity: "1", FindNext: true}),
	}
	every := append([]DiscountLine{allAll, groupAll, itemAll, allGroup, groupGroup, itemCustGroup, allCust, itemGroupCust, item}, other...)
	base := big.NewRat(90498, 100)
	// With Find next everywhere every relation accumulates: amounts 5 + 1.25, percent 1 the sum of
	// 2, 3, 1, 4, 0.5, 1.5 = 12, percent 2 = 10.
	want := new(big.Rat).Sub(base, big.NewRat(625, 100))
	want.Mul(want, big.NewRat(88, 100))
	want.Mul(want, big.NewRat(90, 100))
	r := Quote(Input{Customer: us001, Item: chair, Activation: AllActive(), Discounts: every, Question: Question{Quantity: "1"}})
	if r.NetPrice != decimal(want) || r.UnitPrice != "904.98" || r.DiscountPercent != "20.8" {
		t.Errorf("accumulated: got %+v, want net %s, 20.8 %%", r, decimal(want))
	}
	if got := recIDs(r); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("accumulated lines %v, want all nine relations in D365's order", got)
	}
	if r.DiscountAmount != decimal(new(big.Rat).Sub(base, want)) {
		t.Errorf("discount amount %s, want %s", r.DiscountAmount, decimal(new(big.Rat).Sub(base, want)))
	}

	// A line without Find next stops after itself.
	stopAt := slices.Clone(every)
	stopAt[4] = disc(5, Group, "Reseller", Group, "FURN", "4", "", "", stop(open))
	r = Quote(Input{Customer: us001, Item: chair, Activation: AllActive(), Discounts: stopAt, Question: Question{Quantity: "1"}})
	if got := recIDs(r); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("stopped: lines %v, want 1-5", got)
	}

	// Deactivated relations are skipped, also the one that would stop.
	act := AllActive()
	act.Set(LineDiscount, Relation{Group, Group}, false)
	act.Set(LineDiscount, Relation{Table, Table}, false)
	r = Quote(Input{Customer: us001, Item: chair, Activation: act, Discounts: stopAt, Question: Question{Quantity: "1"}})
	if got := recIDs(r); !slices.Equal(got, []int64{2, 3, 4, 6, 7, 8, 9}) {
		t.Errorf("deactivated: lines %v", got)
	}

	// An anonymous visitor gets only the lines for all customers.
	r = Quote(Input{Item: chair, Activation: AllActive(), Discounts: every, Question: Question{Quantity: "1"}})
	if got := recIDs(r); !slices.Equal(got, []int64{7, 8, 9}) {
		t.Errorf("anonymous: lines %v, want 7, 8, 9", got)
	}
}

func TestDiscountArithmetic(t *testing.T) {
	cases := []struct {
		name                  string
		price                 string
		lines                 []DiscountLine
		net, percent, discAmt string
	}{
		{"amount first, then percentages in turn", "100",
			[]DiscountLine{disc(1, All, "", All, "", "10", "5", "20", open)}, "68.4", "14.5", "31.6"},
		{"exact decimals", "904.98", []DiscountLine{disc(1, All, "", All, "", "3", "", "", open)}, "877.8306", "3", "27.1494"},
		{"percentages capped at 100", "50", []DiscountLine{disc(1, All, "", All, "", "80", "", "", open), disc(2, All, "", All, "", "70", "", "", open)}, "0", "100", "50"},
		{"net floored at zero", "50", []DiscountLine{disc(1, All, "", All, "", "", "", "60", open)}, "0", "0", "50"},
		{"no discount", "12.5", nil, "12.5", "0", "0"},
	}
	for _, c := range cases {
		it := chair
		it.BasePrice = erp.Decimal(c.price)
		r := Quote(Input{Customer: us001, Item: it, Activation: AllActive(), Discounts: c.lines, Question: Question{Quantity: "1"}})
		if r.NetPrice != erp.Decimal(c.net) || r.DiscountPercent != erp.Decimal(c.percent) || r.DiscountAmount != erp.Decimal(c.discAmt) {
			t.Errorf("%s: got net %s, %s %%, amount %s; want %s, %s %%, %s", c.name, r.NetPrice, r.DiscountPercent, r.DiscountAmount, c.net, c.percent, c.discAmt)
		}
	}
}

func TestParameterField(t *testing.T) {
	for r, want := range map[Relation]string{
		{Table, Table}: "SalesPriceAccountItem", {Group, Table}: "SalesPriceGroupItem", {All, Table}: "SalesPriceAllItem", {All, All}: "",
	} {
		if got := ParameterField(SalesPrice, r); got != want {
			t.Errorf("price %v: %q, want %q", r, got, want)
		}
	}
	for r, want := range map[Relation]string{
		{Table, Group}: "SalesLineAccountGroup", {Group, All}: "SalesLineGroupAll", {All, Table}: "SalesLineAllItem", {All, All}: "SalesLineAllAll",
	} {
		if got := ParameterField(LineDiscount, r); got != want {
			t.Errorf("line discount %v: %q, want %q", r, got, want)
		}
	}
	if n := len(Relations(SalesPrice)); n != 3 {
		t.Errorf("%d price relations", n)
	}
	if n := len(Relations(LineDiscount)); n != 9 {
		t.Errorf("%d line discount relations", n)
	}
}

func TestDecimalText(t *testing.T) {
	for in, want := range map[string]string{"1/8": "0.125", "-3/2": "-1.5", "7": "7", "1/3125": "0.00032", "0": "0"} {
		r, _ := new(big.Rat).SetString(in)
		if got := decimal(r); got != erp.Decimal(want) {
			t.Errorf("decimal(%s) = %s, want %s", in, got, want)
		}
	}
}

func recIDs(r Result) []int64 {
	var out []int64
	for _, a := range r.Discounts {
		out = append(out, a.RecID)
	}
	return out
}
