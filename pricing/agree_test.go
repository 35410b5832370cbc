package pricing_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/internal/pricecheck"
	"github.com/erpsync/erpsync/pricing"
)

// erpData is a generated ERP, read back as rows by D365's field names.
type erpData struct {
	products   map[string]pricecheck.Row   // company:item
	customers  map[string][]pricecheck.Row // company -> customers
	byAccount  map[string]pricecheck.Row   // company:account
	activation map[string]pricecheck.Row   // company
	prices     map[string][]pricecheck.Row // company:item
	discounts  map[string][]pricecheck.Row // company:item for item lines, company:* for the rest
	variants   map[string][]pricecheck.Row // company:item
	items      map[string][]string         // company -> item numbers, sorted
	companies  []string
}

func generated(t testing.TB, cfg generate.Config) *erpData {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := generate.Run(ctx, s, cfg); err != nil {
		t.Fatal(err)
	}
	rows := func(table string) []pricecheck.Row {
		t.Helper()
		rs, err := s.DB().QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		cols, _ := rs.Columns()
		var out []pricecheck.Row
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			r := pricecheck.Row{}
			for i, c := range cols {
				switch v := vals[i].(type) {
				case []byte:
					r[c] = string(v)
				case int64:
					r[c] = strconv.FormatInt(v, 10)
				default:
					r[c] = fmt.Sprint(v)
				}
			}
			out = append(out, r)
		}
		return out
	}
	d := &erpData{products: map[string]pricecheck.Row{}, customers: map[string][]pricecheck.Row{}, byAccount: map[string]pricecheck.Row{},
		activation: map[string]pricecheck.Row{}, prices: map[string][]pricecheck.Row{}, discounts: map[string][]pricecheck.Row{},
		variants: map[string][]pricecheck.Row{}, items: map[string][]string{}}
	for _, r := range rows(store.ReleasedProducts) {
		d.products[r["dataAreaId"]+":"+r["ItemNumber"]] = r
		d.items[r["dataAreaId"]] = append(d.items[r["dataAreaId"]], r["ItemNumber"])
	}
	for co := range d.items {
		slices.Sort(d.items[co])
		d.companies = append(d.companies, co)
	}
	slices.Sort(d.companies)
	for _, r := range rows(store.Customers) {
		d.customers[r["dataAreaId"]] = append(d.customers[r["dataAreaId"]], r)
		d.byAccount[r["dataAreaId"]+":"+r["CustomerAccount"]] = r
	}
	for _, r := range rows(store.PriceParameters) {
		d.activation[r["dataAreaId"]] = r
	}
	for _, r := range rows(store.SalesPriceAgreements) {
		k := r["dataAreaId"] + ":" + r["ItemNumber"]
		d.prices[k] = append(d.prices[k], r)
	}
	for _, r := range rows(store.SalesLineDiscountAgreements) {
		k := r["dataAreaId"] + ":*"
		if r["ItemCode"] == "Table" {
			k = r["dataAreaId"] + ":" + r["ItemNumber"]
		}
		d.discounts[k] = append(d.discounts[k], r)
	}
	for _, r := range rows(store.ReleasedProductVariants) {
		k := r["dataAreaId"] + ":" + r["ItemNumber"]
		d.variants[k] = append(d.variants[k], r)
	}
	return d
}

// The engine's side: rows to the engine's input types (the connector's job in phase 2).

func terms(r pricecheck.Row, currency, unit, from, to string) pricing.Terms {
	date := func(s string) string {
		if len(s) >= 10 {
			return s[:10]
		}
		return s
	}
	return pricing.Terms{Currency: r[currency], Unit: r[unit], FromQuantity: erp.Decimal(r["FromQuantity"]),
		ToQuantity: erp.Decimal(r["ToQuantity"]), ValidFrom: date(r[from]), ValidTo: date(r[to]), FindNext: r["WillSearchContinue"] == "Yes"}
}

func dims(r pricecheck.Row) pricing.Dims {
	return pricing.Dims{Color: r["ProductColorId"], Size: r["ProductSizeId"], Style: r["ProductStyleId"], Configuration: r["ProductConfigurationId"]}
}

func recID(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func engineInput(d pricecheck.Data, a pricecheck.Ask) pricing.Input {
	p := d.Product
	in := pricing.Input{
		Item: pricing.Item{Number: p["ItemNumber"], DiscountGroup: p["SalesLineDiscountProductGroupCode"], Unit: p["SalesUnitSymbol"],
			BasePrice: erp.Decimal(p["SalesPrice"]), Currency: p["SalesCurrencyCode"]},
		Question: pricing.Question{Quantity: erp.Decimal(a.Quantity), Date: a.Date,
			Variant: pricing.Dims{Color: a.Color, Size: a.Size, Style: a.Style, Configuration: a.Configuration}},
	}
	if c := d.Customer; c != nil {
		h := c["OnHoldStatus"]
		in.Customer = pricing.Customer{Account: c["CustomerAccount"], PriceGroup: c["DiscountPriceGroupId"],
			LineDiscountGroup: c["LineDiscountCode"], Currency: c["SalesCurrencyCode"], OnHold: h != "No" && h != "Never"}
	}
	for _, k := range []pricing.Kind{pricing.SalesPrice, pricing.LineDiscount} {
		for _, r := range pricing.Relations(k) {
			in.Activation.Set(k, r, d.Activation[pricing.ParameterField(k, r)] == "Yes")
		}
	}
	for _, l := range d.Prices {
		if l["ItemCode"] != "Table" {
			continue
		}
		rel := map[string]string{"Table": l["CustomerAccountNumber"], "GroupId": l["PriceCustomerGroupCode"]}[l["AccountCode"]]
		in.Prices = append(in.Prices, pricing.PriceLine{RecID: recID(l["RecordId"]), Item: l["ItemNumber"], Account: pricing.Code(l["AccountCode"]),
			AccountRelation: rel, Dims: dims(l), Price: erp.Decimal(l["Price"]),
			Terms: terms(l, "PriceCurrencyCode", "QuantityUnitySymbol", "PriceApplicableFromDate", "PriceApplicableToDate")})
	}
	for _, l := range d.Discounts {
		item := map[string]string{"Table": l["ItemNumber"], "GroupId": l["LineDiscountProductGroupCode"]}[l["ItemCode"]]
		acct := map[string]string{"Table": l["CustomerAccountNumber"], "GroupId": l["LineDiscountCustomerGroupCode"]}[l["AccountCode"]]
		in.Discounts = append(in.Discounts, pricing.DiscountLine{RecID: recID(l["RecordId"]), Item: pricing.Code(l["ItemCode"]), ItemRelation: item,
			Account: pricing.Code(l["AccountCode"]), AccountRelation: acct, Dims: dims(l),
			Percent1: erp.Decimal(l["DiscountPercentage1"]), Percent2: erp.Decimal(l["DiscountPercentage2"]), Amount: erp.Decimal(l["DiscountAmount"]),
			Terms: terms(l, "DiscountCurrencyCode", "QuantityUnitSymbol", "DiscountApplicableFromDate", "DiscountApplicableToDate")})
	}
	return in
}

// answerOf writes the engine's result in the checker's terms.
func answerOf(r pricing.Result) pricecheck.Answer {
	a := pricecheck.Answer{OK: r.Available, Reason: r.Reason}
	if !r.Available {
		return a
	}
	a.Currency, a.Price, a.Net, a.DiscountPercent = r.Currency, string(r.UnitPrice), string(r.NetPrice), string(r.DiscountPercent)
	if r.PriceLine != 0 {
		a.PriceRec, a.PriceAccount = strconv.FormatInt(r.PriceLine, 10), string(r.PriceFrom.Account)
	}
	for _, d := range r.Discounts {
		a.Discounts = append(a.Discounts, strconv.FormatInt(d.RecID, 10))
	}
	return a
}

// comparable keeps what both sides state.
func comparable(a pricecheck.Answer) pricecheck.Answer {
	out := pricecheck.Answer{OK: a.OK, Reason: a.Reason, Price: a.Price, PriceRec: a.PriceRec, PriceAccount: a.PriceAccount,
		Net: a.Net, DiscountPercent: a.DiscountPercent, Discounts: a.Discounts}
	if a.OK {
		out.Currency = a.Currency
	}
	return out
}

var (
	quantities = []string{"1", "1", "1", "2", "5", "9.5", "10", "12", "25", "49", "50", "75", "100", "150"}
	dates      = []string{"2025-06-01", "2026-01-01", "2026-02-15", "2026-03-31", "2026-04-01", "2026-06-30", "2026-07-01", "2026-10-15", "2026-12-31", "2027-03-01"}
)

// TestEngineAgreesWithChecker asks the engine and the independent checker the same questions
// about a generated ERP: every customer kind, every relation activated or not, Find next on and
// off, quantities across the breaks, dates across the validities, variants.
func TestEngineAgreesWithChecker(t *testing.T) {
	d := generated(t, generate.Config{Seed: 13, Products: 1500, Customers: 240, SalesReps: 9})
	rng := rand.New(rand.NewPCG(13, 31))
	const questions = 12_000
	covered := map[string]int{}
	for n := range questions {
		co := d.companies[rng.IntN(len(d.companies))]
		items := d.items[co]
		item := items[rng.IntN(len(items))]
		data := pricecheck.Data{Product: d.products[co+":"+item], Activation: d.activation[co],
			Prices: d.prices[co+":"+item], Discounts: append(slices.Clone(d.discounts[co+":"+item]), d.discounts[co+":*"]...)}
		if custs := d.customers[co]; rng.IntN(10) > 0 {
			data.Customer = custs[rng.IntN(len(custs))]
		}
		if rng.IntN(2) == 0 {
			// Another activation of the company: each relation on or off.
			act := pricecheck.Row{}
			for _, f := range store.ActivationFields {
				act[f] = []string{"Yes", "No"}[rng.IntN(2)]
			}
			data.Activation = act
		}
		ask := pricecheck.Ask{Quantity: quantities[rng.IntN(len(quantities))], Date: dates[rng.IntN(len(dates))]}
		if vs := d.variants[co+":"+item]; len(vs) > 0 && rng.IntN(5) < 2 {
			v := vs[rng.IntN(len(vs))]
			ask.Color, ask.Size, ask.Style, ask.Configuration = v["ProductColorId"], v["ProductSizeId"], v["ProductStyleId"], v["ProductConfigurationId"]
		}
		want, err := pricecheck.Expect(data, ask)
		if err != nil {
			t.Fatalf("question %d: checker: %v", n, err)
		}
		got := answerOf(pricing.Quote(engineInput(data, ask)))
		if !reflect.DeepEqual(comparable(got), comparable(want)) {
			cust := "anonymous"
			if data.Customer != nil {
				cust = data.Customer["CustomerAccount"]
			}
			t.Fatalf("question %d (%s, item %s, customer %s, %+v, activation %v):\nengine  %+v\nchecker %+v",
				n, co, item, cust, ask, data.Activation, comparable(got), comparable(want))
		}
		// What the questions covered.
		switch {
		case !want.OK:
			covered["no price: "+want.Reason]++
		case want.PriceRec == "":
			covered["price: base"]++
		default:
			covered["price: "+want.PriceAccount]++
		}
		for _, r := range want.DiscountRelations {
			covered["discount: "+r]++
		}
		for _, r := range want.Inactive {
			covered["deactivated: "+r]++
		}
		if want.PriceStopped {
			covered["price search stopped by a line without Find next"]++
		}
		if want.PricesVisited > 1 {
			covered["price search went on after a line (Find next)"]++
		}
		if want.DiscountStopped {
			covered["discount search stopped by a line without Find next"]++
		}
		if len(want.Discounts) > 1 {
			covered["discounts accumulated (Find next)"]++
		}
		if want.OK && want.Net != want.Price {
			covered["net below the unit price"]++
		}
		if ask.Color != "" {
			covered["variant asked"]++
		}
	}
	need := []string{"no price: blocked", "no price: no_currency", "price: base", "price: Table", "price: GroupId", "price: All",
		"price search stopped by a line without Find next", "price search went on after a line (Find next)",
		"discount search stopped by a line without Find next", "discounts accumulated (Find next)", "net below the unit price", "variant asked"}
	for _, k := range []pricing.Kind{pricing.SalesPrice, pricing.LineDiscount} {
		for _, r := range pricing.Relations(k) {
			f := pricing.ParameterField(k, r)
			need = append(need, "deactivated: "+f)
			if k == pricing.LineDiscount {
				need = append(need, "discount: "+f)
			}
		}
	}
	for _, k := range need {
		if covered[k] == 0 {
			t.Errorf("no question covered %q", k)
		}
	}
	t.Logf("%d questions agree; covered: %v", questions, covered)
}

// TestDemoCustomers checks the demo catalog's customers (erpsim/README.md) see what their kind
// says, and that nobody sees a product far below its list price without an agreement saying so.
func TestDemoCustomers(t *testing.T) {
	d := generated(t, generate.Defaults())
	sources := map[string]map[string]int{}
	for _, acct := range []string{"usmf:US-001", "usmf:US-002", "usmf:US-003", "usmf:US-004", "usmf:US-005", "gbsi:GB-001"} {
		co := acct[:4]
		c := d.byAccount[acct]
		if c == nil {
			t.Fatalf("no demo customer %s", acct)
		}
		sources[acct] = map[string]int{}
		for _, item := range d.items[co] {
			data := pricecheck.Data{Product: d.products[co+":"+item], Customer: c, Activation: d.activation[co],
				Prices: d.prices[co+":"+item], Discounts: append(slices.Clone(d.discounts[co+":"+item]), d.discounts[co+":*"]...)}
			r := pricing.Quote(engineInput(data, pricecheck.Ask{Quantity: "1", Date: "2026-06-01"}))
			switch {
			case !r.Available:
				sources[acct]["none: "+r.Reason]++
				continue
			case r.PriceLine != 0:
				sources[acct]["price: "+string(r.PriceFrom.Account)]++
			default:
				sources[acct]["price: base"]++
			}
			for _, a := range r.Discounts {
				sources[acct]["discount: "+pricing.ParameterField(pricing.LineDiscount, a.Relation)]++
			}
			// No product below half its list price at quantity 1.
			net, _ := new(big.Rat).SetString(string(r.NetPrice))
			base, _ := new(big.Rat).SetString(data.Product["SalesPrice"])
			if net.Cmp(new(big.Rat).Mul(base, big.NewRat(1, 2))) < 0 {
				t.Errorf("%s pays %s for %s (list price %s)", acct, r.NetPrice, item, base.FloatString(2))
			}
		}
	}
	has := func(acct, what string) {
		t.Helper()
		if sources[acct][what] == 0 {
			t.Errorf("%s: no product priced by %q: %v", acct, what, sources[acct])
		}
	}
	has("usmf:US-001", "price: GroupId")
	has("usmf:US-002", "price: Table")
	has("usmf:US-003", "discount: SalesLineGroupGroup")
	has("usmf:US-004", "discount: SalesLineAllGroup")
	has("usmf:US-005", "none: blocked")
	if s := sources["gbsi:GB-001"]; len(s) != 1 || s["price: base"] == 0 {
		t.Errorf("gbsi:GB-001 should see base prices only: %v", s)
	}
	for acct, s := range sources {
		t.Logf("%s: %v", acct, s)
	}
}
