package storefront_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/storefront"
)

// Customers the test changes in the ERP before the sync, so every case is present whatever the
// seed: one on hold, one buying in another currency.
const (
	blockedCustomer  = "US-002"
	foreignCustomer  = "US-003"
	foreignCurrency  = "EUR"
	apiTestCompany   = "usmf"
	apiTestSeed      = 7
	priceQuantities  = "1,10,49,50,120"
	maxItemsPerCheck = 25
)

func TestAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simtest.Catalog(apiTestSeed), func(e *erpReader) {
		e.change(t, http.MethodPatch, fmt.Sprintf("CustomersV3(dataAreaId='usmf',CustomerAccount='%s')", blockedCustomer), map[string]string{"OnHoldStatus": "All"})
		e.change(t, http.MethodPatch, fmt.Sprintf("CustomersV3(dataAreaId='usmf',CustomerAccount='%s')", foreignCustomer), map[string]string{"SalesCurrencyCode": foreignCurrency})
	})
	cat := f.erp.catalog(t)

	t.Run("key required", func(t *testing.T) { testKeyRequired(t, f) })
	t.Run("prices equal the ERP's", func(t *testing.T) { testPrices(t, f, cat) })
	t.Run("only showable products", func(t *testing.T) { testShowable(t, f, cat) })
	t.Run("languages", func(t *testing.T) { testLanguages(t, f, cat) })
	t.Run("facets and paging", func(t *testing.T) { testFacetsAndPaging(t, f) })
	t.Run("detail", func(t *testing.T) { testDetail(t, f, cat) })
	t.Run("no other customer's data", func(t *testing.T) { testNoOtherCustomersData(t, f, cat) })
	t.Run("autocomplete", func(t *testing.T) { testAutocomplete(t, f) })
	// Last: it changes the ERP and the index.
	t.Run("deleted product disappears", func(t *testing.T) { testDeleted(t, f, cat) })
}

func testKeyRequired(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"none", func(*http.Request) {}, http.StatusUnauthorized},
		{"wrong header", func(r *http.Request) { r.Header.Set("X-Api-Key", "nope") }, http.StatusUnauthorized},
		{"wrong cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: storefront.KeyCookie, Value: "nope"}) }, http.StatusUnauthorized},
		{"header", func(r *http.Request) { r.Header.Set("X-Api-Key", testKey) }, http.StatusOK},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: storefront.KeyCookie, Value: testKey}) }, http.StatusOK},
	} {
		for _, path := range []string{"/api/search?q=chair", "/api/customers", "/api/price?item=1000", "/api/autocomplete?q=co"} {
			req, _ := http.NewRequest(http.MethodGet, f.shop.URL+path, nil)
			tc.set(req)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want && !(tc.want == http.StatusOK && res.StatusCode == http.StatusNotFound) {
				t.Errorf("%s %s: %d, want %d", tc.name, path, res.StatusCode, tc.want)
			}
		}
	}
	// The login sets the cookie only for the right key.
	for key, want := range map[string]int{"nope": http.StatusUnauthorized, testKey: http.StatusOK} {
		res, err := http.PostForm(f.shop.URL+"/api/login", url.Values{"key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want || (want == http.StatusOK) != (len(res.Cookies()) == 1) {
			t.Errorf("login with %q: %d and %d cookies, want %d", key, res.StatusCode, len(res.Cookies()), want)
		}
	}
}

// priceCase is one question to the price API and the checker.
type priceCase struct {
	customer, item string
	qty            int64
}

func testPrices(t *testing.T, f *fixture, cat *erpCatalog) {
	// Customers: everyone of the company (customer lines, group lines, the blocked and the
	// foreign-currency one) and the anonymous visitor.
	accounts := []string{""}
	for k, c := range cat.customers {
		if strings.HasPrefix(k, apiTestCompany+":") {
			accounts = append(accounts, c.S("CustomerAccount"))
		}
	}
	sort.Strings(accounts)
	// Items: every showable item with a line for the customer, then the first few others.
	var items []string
	for k := range cat.products {
		if strings.HasPrefix(k, apiTestCompany+":") && cat.showable[k] {
			items = append(items, strings.TrimPrefix(k, apiTestCompany+":"))
		}
	}
	sort.Strings(items)
	var cases []priceCase
	for _, a := range accounts {
		n := 0
		for _, it := range items {
			own := false
			for _, l := range cat.lines[key(apiTestCompany, it)] {
				own = own || a != "" && l.S("CustomerAccountNumber") == a
			}
			if !own && n >= maxItemsPerCheck {
				continue
			}
			n++
			for _, q := range strings.Split(priceQuantities, ",") {
				var qty int64
				fmt.Sscan(q, &qty)
				cases = append(cases, priceCase{a, it, qty})
			}
		}
	}

	seen := map[string]int{}
	for _, c := range cases {
		want, currency, level, ok := cat.expectedPrice(t, apiTestCompany, c.item, c.customer, c.qty, f.today)
		var got storefront.PriceAnswer
		p := url.Values{"company": {apiTestCompany}, "item": {c.item}, "quantity": {fmt.Sprint(c.qty)}}
		if c.customer != "" {
			p.Set("customer", c.customer)
		}
		if st, body := f.get("/api/price", p, &got); st != http.StatusOK {
			t.Fatalf("price %+v: %d %s", c, st, body)
		}
		seen[level]++
		if c.customer == foreignCustomer {
			seen["foreign currency "+fmt.Sprint(ok)]++
		}
		if !ok {
			if got.Available {
				t.Errorf("%+v: API says %s %s (%s), the ERP gives no price (%s)", c, got.Price, got.Currency, got.Source, level)
			}
			continue
		}
		gotRat, good := new(big.Rat).SetString(string(got.Price))
		if !got.Available || !good || gotRat.Cmp(want) != 0 || got.Currency != currency {
			t.Errorf("%+v: API says %v %q %s (%s), the ERP's agreements give %s %s (%s)", c, got.Available, got.Price, got.Currency, got.Source, want.FloatString(2), currency, level)
		}
	}
	t.Logf("%d price checks by level: %v", len(cases), seen)
	for _, level := range []string{"Table", "GroupId", "All", "base", "blocked", "foreign currency true", "foreign currency false"} {
		if seen[level] == 0 {
			t.Errorf("no price check ended at %q: the cases do not cover every rule", level)
		}
	}

	// The price on result cards is the same price at quantity 1.
	for _, a := range []string{"", accounts[1], foreignCustomer} {
		p := url.Values{"company": {apiTestCompany}}
		if a != "" {
			p.Set("customer", a)
		}
		for _, h := range f.searchAll(p)[:20] {
			want, currency, _, ok := cat.expectedPrice(t, apiTestCompany, h.ItemNumber, a, 1, f.today)
			got, _ := new(big.Rat).SetString(string(h.Price.Price))
			if ok != h.Price.Available || ok && (got == nil || got.Cmp(want) != 0 || currency != h.Price.Currency) {
				t.Errorf("card of %s for %q: %+v, want %v %s", h.ItemNumber, a, h.Price, want, currency)
			}
		}
	}
}

func testShowable(t *testing.T, f *fixture, cat *erpCatalog) {
	for _, company := range []string{"usmf", "demf"} {
		var want []string
		hidden := 0
		for k, ok := range cat.showable {
			if c, item, _ := strings.Cut(k, ":"); c == company {
				if ok {
					want = append(want, item)
				} else {
					hidden++
				}
			}
		}
		var got []string
		for _, h := range f.searchAll(url.Values{"company": {company}}) {
			got = append(got, h.ItemNumber)
			if h.Company != company {
				t.Errorf("search in %s found %s of %s", company, h.ItemNumber, h.Company)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: search shows %d products, the ERP has %d showable: %s", company, len(got), len(want), diff(got, want))
		}
		if hidden == 0 {
			t.Errorf("%s: the catalog has no hidden or sales-stopped product to check", company)
		}
		t.Logf("%s: %d showable products, %d hidden or sales-stopped", company, len(want), hidden)
	}
	// Hidden products have no detail and no price either.
	n := 0
	for k, ok := range cat.showable {
		if c, item, _ := strings.Cut(k, ":"); !ok && c == apiTestCompany {
			if st, _ := f.get("/api/products/"+c+"/"+item, nil, nil); st != http.StatusNotFound {
				t.Errorf("detail of hidden %s: %d", k, st)
			}
			if st, _ := f.get("/api/price", url.Values{"company": {c}, "item": {item}}, nil); st != http.StatusNotFound {
				t.Errorf("price of hidden %s: %d", k, st)
			}
			n++
		}
	}
	if n == 0 {
		t.Error("no hidden product checked")
	}
}

func diff(got, want []string) string {
	var extra, missing []string
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	return fmt.Sprintf("extra %v, missing %v", extra, missing)
}

var word = regexp.MustCompile(`[\p{L}\p{N}]+`)

func hasWord(text, w string) bool {
	for _, x := range word.FindAllString(strings.ToLower(text), -1) {
		if x == w {
			return true
		}
	}
	return false
}

func testLanguages(t *testing.T, f *fixture, cat *erpCatalog) {
	tr := map[string]row{} // "usmf:1000:de"
	for _, r := range f.erp.All(t, "ProductTranslations") {
		tr[key(r.S("dataAreaId"), r.S("ItemNumber"))+":"+strings.ToLower(r.S("LanguageId"))] = r
	}
	for _, tc := range []struct {
		company, lang, q, langID string
	}{
		{"usmf", "en", "chair", ""},   // the company's own texts
		{"usmf", "de", "stuhl", "de"}, // German translations in a US company
		{"usmf", "de", "lampe", "de"},
		{"usmf", "nl", "fiets", "nl"},
		// No language asked: a German company's shoppers get German, its products' "de"
		// translations (their own ProductName is in the system language, English).
		{"demf", "", "stuhl", "de"},
		{"demf", "en", "chair", "en-us"},
	} {
		var want []string
		for k, ok := range cat.showable {
			c, item, _ := strings.Cut(k, ":")
			if !ok || c != tc.company {
				continue
			}
			name, desc := cat.products[k].S("ProductName"), cat.products[k].S("ProductDescription")
			if tc.langID != "" {
				r := tr[k+":"+tc.langID]
				name, desc = r.S("ProductName"), r.S("ProductDescription")
			}
			if hasWord(name, tc.q) || hasWord(desc, tc.q) {
				want = append(want, item)
			}
		}
		p := url.Values{"company": {tc.company}, "q": {tc.q}}
		if tc.lang != "" {
			p.Set("lang", tc.lang)
		}
		var got []string
		for _, h := range f.searchAll(p) {
			got = append(got, h.ItemNumber)
			if !hasWord(h.Name, tc.q) && !hasWord(h.Description, tc.q) {
				t.Errorf("%s %s %q: hit %s %q does not show the word", tc.company, tc.lang, tc.q, h.ItemNumber, h.Name)
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		if len(want) == 0 {
			t.Errorf("%s %s %q: the catalog has no such product", tc.company, tc.lang, tc.q)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s %q: %s", tc.company, tc.lang, tc.q, diff(got, want))
		}
	}
	// A German word finds nothing in English texts.
	var res storefront.SearchResult
	f.get("/api/search", url.Values{"q": {"stuhl"}, "lang": {"en"}}, &res)
	if res.Total != 0 {
		t.Errorf("stuhl in English: %d hits", res.Total)
	}
}

func testFacetsAndPaging(t *testing.T, f *fixture) {
	all := f.searchAll(url.Values{})
	// Page by page with a small page size equals following the next tokens.
	var paged []string
	for page := 1; ; page++ {
		var res storefront.SearchResult
		f.get("/api/search", url.Values{"per_page": {"7"}, "page": {fmt.Sprint(page)}}, &res)
		for _, h := range res.Hits {
			paged = append(paged, h.ItemNumber)
		}
		if len(res.Hits) < 7 {
			break
		}
	}
	var walked []string
	for _, h := range all {
		walked = append(walked, h.ItemNumber)
	}
	if !slices.Equal(paged, walked) {
		t.Errorf("pages and next tokens disagree:\n%v\n%v", paged, walked)
	}
	if st, _ := f.get("/api/search", url.Values{"per_page": {"100"}, "page": {"101"}}, nil); st != http.StatusBadRequest {
		t.Errorf("page beyond 10,000 hits: %d, want 400 (use next)", st)
	}

	var res storefront.SearchResult
	f.get("/api/search", url.Values{"per_page": {"1"}}, &res)
	facets := map[string]storefront.Facet{}
	for _, fc := range res.Facets {
		facets[fc.Name] = fc
	}
	for _, name := range []string{"category", "color", "size", "price"} {
		if len(facets[name].Values) == 0 {
			t.Fatalf("no %s facet: %+v", name, res.Facets)
		}
	}
	// Each facet value's count is the total when it is selected.
	for _, name := range []string{"category", "color", "size"} {
		v := facets[name].Values[0]
		var sel storefront.SearchResult
		f.get("/api/search", url.Values{name: {v.Value}, "per_page": {"100"}}, &sel)
		if sel.Total != v.Count || v.Count == 0 {
			t.Errorf("%s=%s: facet count %d, search total %d", name, v.Value, v.Count, sel.Total)
		}
		if name == "category" && v.Label == v.Value {
			t.Errorf("category %s has no name", v.Value)
		}
	}
	var cheap storefront.SearchResult
	f.get("/api/search", url.Values{"price_min": {"0"}, "price_max": {"250"}, "sort": {"price"}, "per_page": {"100"}}, &cheap)
	var ranged int64
	for _, v := range facets["price"].Values {
		if v.Value == "0-50" || v.Value == "50-100" || v.Value == "100-250" {
			ranged += v.Count
		}
	}
	if cheap.Total != ranged {
		t.Errorf("price 0-250: %d hits, facet counts %d", cheap.Total, ranged)
	}
	// Sorting by name is by the shown name.
	var byName storefront.SearchResult
	f.get("/api/search", url.Values{"sort": {"name"}, "per_page": {"50"}}, &byName)
	if !slices.IsSortedFunc(byName.Hits, func(a, b storefront.Hit) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("sort=name is not sorted by name")
	}
}

func testDetail(t *testing.T, f *fixture, cat *erpCatalog) {
	// A product master with variants, and one whose related products include a hidden one.
	var master, withHidden string
	for _, h := range f.searchAll(url.Values{}) {
		if h.HasVariant && master == "" {
			master = h.ItemNumber
		}
	}
	for _, r := range f.erp.All(t, "RelatedProducts") {
		k := key(r.S("dataAreaId"), r.S("ItemNumber"))
		if strings.HasPrefix(k, apiTestCompany+":") && cat.showable[k] && !cat.showable[key(r.S("dataAreaId"), r.S("RelatedItemNumber"))] {
			withHidden = r.S("ItemNumber")
			break
		}
	}
	if master == "" {
		t.Fatal("no product master among the results")
	}
	var d storefront.Product
	if st, body := f.get("/api/products/usmf/"+master, nil, &d); st != http.StatusOK {
		t.Fatalf("detail %s: %d %s", master, st, body)
	}
	if len(d.Variants) == 0 || d.Variants[0].VariantNumber == "" || d.Variants[0].Color == "" || len(d.Variants[0].Barcodes) == 0 || !d.Variants[0].Price.Available {
		t.Errorf("variants of %s: %+v", master, d.Variants)
	}
	if d.Order == nil || d.Order.Minimum == "" || len(d.Attachments) == 0 || d.Name == "" {
		t.Errorf("detail of %s lacks order quantities, attachments or name: %+v", master, d)
	}
	if withHidden == "" {
		t.Log("no product relates to a hidden one in this catalog")
		return
	}
	if st, body := f.get("/api/products/usmf/"+withHidden, nil, &d); st != http.StatusOK {
		t.Fatalf("detail %s: %d %s", withHidden, st, body)
	}
	for _, r := range d.Related {
		if !cat.showable[key("usmf", r.ItemNumber)] {
			t.Errorf("detail of %s shows hidden related product %s", withHidden, r.ItemNumber)
		}
	}
}

func testNoOtherCustomersData(t *testing.T, f *fixture, cat *erpCatalog) {
	// Find an item with a customer-specific line and look at it as another customer.
	for _, lines := range cat.lines {
		for _, l := range lines {
			owner := l.S("CustomerAccountNumber")
			if l.S("AccountCode") != "Table" || strings.ToLower(l.S("dataAreaId")) != apiTestCompany || !cat.showable[key(apiTestCompany, l.S("ItemNumber"))] {
				continue
			}
			other := "US-001"
			if owner == other {
				other = "US-004"
			}
			for _, path := range []string{"/api/products/usmf/" + l.S("ItemNumber"), "/api/search"} {
				_, body := f.get(path, url.Values{"customer": {other}, "q": {l.S("ItemNumber")}}, nil)
				for _, leak := range []string{owner, `"prices":`, `"price_group":`, `"account_code":`, `"customer":"` + owner} {
					if strings.Contains(string(body), leak) {
						t.Errorf("%s as %s shows %s: %.300s", path, other, leak, body)
					}
				}
			}
			// The customer list has account numbers and names only.
			_, body := f.get("/api/customers", nil, nil)
			var list struct {
				Customers []map[string]any `json:"customers"`
			}
			if err := json.Unmarshal(body, &list); err != nil || len(list.Customers) == 0 {
				t.Fatalf("customers: %v %s", err, body)
			}
			for _, c := range list.Customers {
				if len(c) != 2 || c["account"] == nil || c["name"] == nil {
					t.Errorf("customer list entry %v: want account and name only", c)
				}
			}
			return
		}
	}
	t.Error("no customer-specific line to check")
}

func testAutocomplete(t *testing.T, f *fixture) {
	var hits storefront.SearchResult
	f.get("/api/search", url.Values{"per_page": {"1"}}, &hits)
	name := hits.Hits[0].Name
	words := strings.Fields(name)
	prefix := words[0] + " " + words[1][:3] // "Contoso Ergo"
	var res struct {
		Suggestions []storefront.Suggestion `json:"suggestions"`
	}
	f.get("/api/autocomplete", url.Values{"q": {prefix}}, &res)
	if len(res.Suggestions) == 0 {
		t.Fatalf("autocomplete %q: nothing", prefix)
	}
	for _, s := range res.Suggestions {
		if !strings.HasPrefix(strings.ToLower(s.Name), strings.ToLower(prefix)) && !strings.Contains(strings.ToLower(s.Name), strings.ToLower(words[1][:3])) {
			t.Errorf("autocomplete %q suggests %q", prefix, s.Name)
		}
	}
	res.Suggestions = nil
	f.get("/api/autocomplete", url.Values{"q": {hits.Hits[0].ItemNumber[:3]}}, &res)
	if len(res.Suggestions) == 0 || !strings.HasPrefix(res.Suggestions[0].ItemNumber, hits.Hits[0].ItemNumber[:3]) {
		t.Errorf("autocomplete on an item number prefix: %+v", res.Suggestions)
	}
}

func testDeleted(t *testing.T, f *fixture, cat *erpCatalog) {
	all := f.searchAll(url.Values{})
	victim := all[len(all)/2].ItemNumber
	f.erp.change(t, http.MethodDelete, fmt.Sprintf("ReleasedProductsV2(dataAreaId='usmf',ItemNumber='%s')", victim), nil)
	time.Sleep(20 * time.Millisecond) // past the import's safety lag
	c := f.sync(erp.Products, activities.Update)
	if c.Deleted == 0 {
		t.Fatalf("the update deleted nothing: %+v", c)
	}
	for _, h := range f.searchAll(url.Values{}) {
		if h.ItemNumber == victim {
			t.Fatalf("deleted product %s is still found", victim)
		}
	}
	if st, _ := f.get("/api/products/usmf/"+victim, nil, nil); st != http.StatusNotFound {
		t.Errorf("detail of deleted %s: %d", victim, st)
	}
	if st, _ := f.get("/api/price", url.Values{"item": {victim}}, nil); st != http.StatusNotFound {
		t.Errorf("price of deleted %s: %d", victim, st)
	}
	var res struct {
		Suggestions []storefront.Suggestion `json:"suggestions"`
	}
	f.get("/api/autocomplete", url.Values{"q": {victim}}, &res)
	for _, s := range res.Suggestions {
		if s.ItemNumber == victim {
			t.Errorf("autocomplete suggests deleted %s", victim)
		}
	}
}
