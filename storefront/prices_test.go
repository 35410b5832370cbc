package storefront_test

import (
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/erpsync/erpsync/internal/pricecheck"
	"github.com/erpsync/erpsync/storefront"
)

// priceRows are the ERP's rows, read over OData by D365's field names, that the independent
// checker (internal/pricecheck, written from docs/pricing.md) prices from.
type priceRows struct {
	products   map[string]pricecheck.Row   // company:item
	customers  map[string]pricecheck.Row   // company:account
	accounts   map[string][]string         // company -> accounts, sorted
	activation map[string]pricecheck.Row   // company
	prices     map[string][]pricecheck.Row // company:item
	discounts  map[string][]pricecheck.Row // company: every line discount of the company
	variants   map[string][]pricecheck.Row // company:item
}

func checkRow(r row) pricecheck.Row {
	out := pricecheck.Row{}
	for k := range r {
		out[k] = r.S(k)
	}
	return out
}

func (e *erpReader) priceRows(t testing.TB) *priceRows {
	t.Helper()
	d := &priceRows{products: map[string]pricecheck.Row{}, customers: map[string]pricecheck.Row{}, accounts: map[string][]string{},
		activation: map[string]pricecheck.Row{}, prices: map[string][]pricecheck.Row{}, discounts: map[string][]pricecheck.Row{},
		variants: map[string][]pricecheck.Row{}}
	co := func(r row) string { return strings.ToLower(r.S("dataAreaId")) }
	for _, r := range e.All(t, "ReleasedProductsV2") {
		d.products[key(co(r), r.S("ItemNumber"))] = checkRow(r)
	}
	for _, r := range e.All(t, "CustomersV3") {
		d.customers[key(co(r), r.S("CustomerAccount"))] = checkRow(r)
		d.accounts[co(r)] = append(d.accounts[co(r)], r.S("CustomerAccount"))
	}
	for _, as := range d.accounts {
		slices.Sort(as)
	}
	for _, r := range e.All(t, "PriceParameters") {
		d.activation[co(r)] = checkRow(r)
	}
	for _, r := range e.All(t, "SalesPriceAgreements") {
		k := key(co(r), r.S("ItemNumber"))
		d.prices[k] = append(d.prices[k], checkRow(r))
	}
	for _, r := range e.All(t, "SalesLineDiscountAgreements") {
		d.discounts[co(r)] = append(d.discounts[co(r)], checkRow(r))
	}
	for _, r := range e.All(t, "ReleasedProductVariantsV2") {
		k := key(co(r), r.S("ItemNumber"))
		d.variants[k] = append(d.variants[k], checkRow(r))
	}
	return d
}

// question is one question to the price API and to the checker.
type question struct {
	company, account, item, variant string
	ask                             pricecheck.Ask
}

func (q question) String() string {
	return fmt.Sprintf("%s %q item %s variant %q qty %s on %s", q.company, q.account, q.item, q.variant, q.ask.Quantity, q.ask.Date)
}

// expect is the checker's answer to q.
func (d *priceRows) expect(t testing.TB, q question) pricecheck.Answer {
	t.Helper()
	data := pricecheck.Data{Product: d.products[key(q.company, q.item)], Activation: d.activation[q.company],
		Prices: d.prices[key(q.company, q.item)], Discounts: d.discounts[q.company]}
	if q.account != "" {
		data.Customer = d.customers[key(q.company, q.account)]
	}
	a, err := pricecheck.Expect(data, q.ask)
	if err != nil {
		t.Fatalf("%s: checker: %v", q, err)
	}
	return a
}

// questions returns the price questions for company: for every sales price and line discount
// line, one that it can answer (its customer, or a customer of its group, or an anonymous visitor
// for all customers; its item, or an item of its group, or any item for all items; its lowest
// quantity; a date it is valid on; its variant), and for every customer and the anonymous
// visitor a few of the company's showable items at several quantities.
func (d *priceRows) questions(company, today string, showable map[string]bool, rng *rand.Rand) []question {
	var items []string
	for k := range d.products {
		if c, item, _ := strings.Cut(k, ":"); c == company && showable[k] {
			items = append(items, item)
		}
	}
	slices.Sort(items)
	accounts := append([]string{""}, d.accounts[company]...)
	in := func(group, field string) []string {
		var out []string
		for _, a := range d.accounts[company] {
			if g := d.customers[key(company, a)][field]; g != "" && g == group {
				out = append(out, a)
			}
		}
		return out
	}
	pick := func(xs []string) string {
		if len(xs) == 0 {
			return ""
		}
		return xs[rng.IntN(len(xs))]
	}
	date := func(from, to string) string {
		if len(from) >= 10 && from[:10] != "1900-01-01" {
			return from[:10]
		}
		if len(to) >= 10 && to[:10] != "2154-12-31" && to[:10] < today {
			return to[:10]
		}
		return today
	}
	qty := func(from string) string {
		if r, ok := new(big.Rat).SetString(cmp.Or(from, "0")); ok && r.Sign() > 0 {
			return r.FloatString(0)
		}
		return "1"
	}
	variant := func(item string, l pricecheck.Row) (string, pricecheck.Ask, bool) {
		a := pricecheck.Ask{Color: l["ProductColorId"], Size: l["ProductSizeId"], Style: l["ProductStyleId"], Configuration: l["ProductConfigurationId"]}
		if a == (pricecheck.Ask{}) {
			return "", a, true
		}
		for _, v := range d.variants[key(company, item)] {
			if (a.Color == "" || a.Color == v["ProductColorId"]) && (a.Size == "" || a.Size == v["ProductSizeId"]) &&
				(a.Style == "" || a.Style == v["ProductStyleId"]) && (a.Configuration == "" || a.Configuration == v["ProductConfigurationId"]) {
				return v["ProductVariantNumber"], pricecheck.Ask{Color: v["ProductColorId"], Size: v["ProductSizeId"], Style: v["ProductStyleId"],
					Configuration: v["ProductConfigurationId"]}, true
			}
		}
		return "", a, false
	}
	var out []question
	add := func(account, item, vn string, a pricecheck.Ask) {
		if item != "" && showable[key(company, item)] && (account == "" || d.customers[key(company, account)] != nil) {
			out = append(out, question{company: company, account: account, item: item, variant: vn, ask: a})
		}
	}
	for k, lines := range d.prices {
		if c, item, _ := strings.Cut(k, ":"); c == company {
			for _, l := range lines {
				var who []string
				switch l["AccountCode"] {
				case "Table":
					who = []string{l["CustomerAccountNumber"]}
				case "GroupId":
					who = []string{pick(in(l["PriceCustomerGroupCode"], "DiscountPriceGroupId"))}
				default:
					who = []string{"", pick(d.accounts[company])}
				}
				vn, a, ok := variant(item, l)
				if !ok {
					continue
				}
				a.Quantity, a.Date = qty(l["FromQuantity"]), date(l["PriceApplicableFromDate"], l["PriceApplicableToDate"])
				for _, w := range who {
					if w != "" || l["AccountCode"] == "All" {
						add(w, item, vn, a)
					}
				}
			}
		}
	}
	for _, l := range d.discounts[company] {
		var item string
		switch l["ItemCode"] {
		case "Table":
			item = l["ItemNumber"]
		case "GroupId":
			var of []string
			for _, it := range items {
				if d.products[key(company, it)]["SalesLineDiscountProductGroupCode"] == l["LineDiscountProductGroupCode"] {
					of = append(of, it)
				}
			}
			item = pick(of)
		default:
			item = pick(items)
		}
		var who []string
		switch l["AccountCode"] {
		case "Table":
			who = []string{l["CustomerAccountNumber"]}
		case "GroupId":
			who = []string{pick(in(l["LineDiscountCustomerGroupCode"], "LineDiscountCode"))}
		default:
			who = []string{"", pick(d.accounts[company])}
		}
		vn, a, ok := variant(item, l)
		if !ok {
			continue
		}
		a.Quantity, a.Date = qty(l["FromQuantity"]), date(l["DiscountApplicableFromDate"], l["DiscountApplicableToDate"])
		for _, w := range who {
			if w != "" || l["AccountCode"] == "All" {
				add(w, item, vn, a)
			}
		}
	}
	for _, a := range accounts {
		for range 8 {
			it := pick(items)
			for _, q := range []string{"1", "10", "50", "120"} {
				add(a, it, "", pricecheck.Ask{Quantity: q, Date: today})
			}
		}
	}
	slices.SortFunc(out, func(a, b question) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// testPrices asks the price API thousands of questions, (customer, item, quantity, date) in every
// company, and compares each answer with the independent checker's (internal/pricecheck, written
// from docs/pricing.md, which shares no code with the storefront or the pricing engine): the price
// a unit costs after the line discount, the price before it and the agreement line it came from,
// the line discounts applied, the currency, and the reason when there is no price. The questions
// cover every relation of the price and line discount search, in companies that activate all of
// them and companies that do not, lines with and without Find next, and customers on hold or
// buying in another currency.
func testPrices(t *testing.T, f *fixture, cat *erpCatalog) {
	rows := f.erp.priceRows(t)
	rng := rand.New(rand.NewPCG(apiTestSeed, 13))
	var qs []question
	for _, company := range []string{"usmf", "demf", "gbsi"} {
		qs = append(qs, rows.questions(company, f.today, cat.showable, rng)...)
	}
	type result struct {
		q    question
		got  storefront.PriceAnswer
		want pricecheck.Answer
	}
	results := make([]result, len(qs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				q := qs[i]
				p := url.Values{"company": {q.company}, "item": {q.item}, "quantity": {q.ask.Quantity}, "date": {q.ask.Date}}
				if q.account != "" {
					p.Set("customer", q.account)
				}
				if q.variant != "" {
					p.Set("variant", q.variant)
				}
				var got storefront.PriceAnswer
				if st, body := f.get("/api/price", p, &got); st != http.StatusOK {
					t.Errorf("%s: %d %s", q, st, body)
				}
				results[i] = result{q: q, got: got}
			}
		})
	}
	for i := range qs {
		next <- i
	}
	close(next)
	wg.Wait()

	seen := map[string]int{}
	bad := 0
	same := func(a, b string) bool {
		x, okx := new(big.Rat).SetString(cmp.Or(a, "0"))
		y, oky := new(big.Rat).SetString(cmp.Or(b, "0"))
		return okx && oky && x.Cmp(y) == 0
	}
	for _, r := range results {
		q, got := r.q, r.got
		want := rows.expect(t, q)
		var recs []string
		for _, d := range got.Discounts {
			recs = append(recs, strconv.FormatInt(d.RecID, 10))
		}
		rec := ""
		if got.RecID != 0 {
			rec = strconv.FormatInt(got.RecID, 10)
		}
		var diff string
		switch {
		case !want.OK:
			if got.Available || got.Reason != want.Reason {
				diff = fmt.Sprintf("available %v reason %q, the checker: no price (%s)", got.Available, got.Reason, want.Reason)
			}
		case !got.Available:
			diff = fmt.Sprintf("no price (%s), the checker: %s %s", got.Reason, want.Net, want.Currency)
		case !same(string(got.Price), want.Net) || !same(string(got.UnitPrice), want.Price) || got.Currency != want.Currency ||
			rec != want.PriceRec || !slices.Equal(recs, want.Discounts) || !same(string(got.DiscountPercent), want.DiscountPercent):
			diff = fmt.Sprintf("%s (unit %s from line %q, discount %s%% by %v) %s; the checker: %s (unit %s from line %q, discount %s%% by %v) %s",
				got.Price, got.UnitPrice, rec, got.DiscountPercent, recs, got.Currency,
				want.Net, want.Price, want.PriceRec, want.DiscountPercent, want.Discounts, want.Currency)
		}
		if diff != "" {
			bad++
			if bad <= 10 {
				t.Errorf("%s: the API says %s", q, diff)
			}
		}
		// What the questions covered.
		if !want.OK {
			seen["no price: "+want.Reason]++
			continue
		}
		seen["price from "+cmp.Or(want.PriceAccount, "base")]++
		for _, rel := range want.DiscountRelations {
			seen[rel]++
		}
		if want.PriceStopped {
			seen["price search stopped by a line without Find next"]++
		}
		if want.PricesVisited > 1 {
			seen["price search went on (Find next)"]++
		}
		if want.DiscountStopped {
			seen["discount search stopped by a line without Find next"]++
		}
		if len(want.Discounts) > 1 {
			seen["discounts accumulated (Find next)"]++
		}
		if len(want.Inactive) > 0 {
			seen["a line of a relation the company does not activate"]++
		}
		if q.account == foreignCustomer {
			seen["another currency"]++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d answers differ from the checker's", bad, len(results))
	}
	t.Logf("%d price questions, covered: %v", len(results), seen)
	if len(results) < 2000 {
		t.Errorf("only %d questions: want thousands", len(results))
	}
	want := []string{"price from Table", "price from GroupId", "price from All", "price from base", "no price: blocked", "no price: no_currency",
		"price search stopped by a line without Find next", "price search went on (Find next)", "discount search stopped by a line without Find next",
		"discounts accumulated (Find next)", "a line of a relation the company does not activate", "another currency"}
	for _, k := range []string{"SalesLineAccountItem", "SalesLineAccountGroup", "SalesLineAccountAll", "SalesLineGroupItem", "SalesLineGroupGroup",
		"SalesLineGroupAll", "SalesLineAllItem", "SalesLineAllGroup", "SalesLineAllAll"} {
		want = append(want, k)
	}
	for _, k := range want {
		if seen[k] == 0 {
			t.Errorf("no question covered %q", k)
		}
	}

	// The price on result cards is the same as the price API's for one unit today.
	for _, a := range []string{"", "US-001", "US-003", foreignCustomer} {
		p := url.Values{"company": {apiTestCompany}}
		if a != "" {
			p.Set("customer", a)
		}
		for _, h := range f.searchAll(p)[:30] {
			want := rows.expect(t, question{company: apiTestCompany, account: a, item: h.ItemNumber, ask: pricecheck.Ask{Quantity: "1", Date: f.today}})
			if want.OK != h.Price.Available || want.OK && (!same(string(h.Price.Price), want.Net) || want.Currency != h.Price.Currency) {
				t.Errorf("card of %s for %q: %+v, the checker: %+v", h.ItemNumber, a, h.Price, want)
			}
		}
	}
}
