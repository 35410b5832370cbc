package storefront_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/storefront"
)

// Customers the test changes in the ERP before the sync, so every case is present whatever the
// seed: one on hold, one buying in another currency (not the demo customers of each kind, the
// first five of usmf).
const (
	blockedCustomer = "US-008"
	foreignCustomer = "US-009"
	foreignCurrency = "EUR"
	apiTestCompany  = "usmf"
	apiTestSeed     = 7
)

func TestAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simtest.Catalog(apiTestSeed), func(e *erpReader) {
		e.change(t, http.MethodPatch, fmt.Sprintf("CustomersV3(dataAreaId='usmf',CustomerAccount='%s')", blockedCustomer), map[string]string{"OnHoldStatus": "All"})
		e.change(t, http.MethodPatch, fmt.Sprintf("CustomersV3(dataAreaId='usmf',CustomerAccount='%s')", foreignCustomer), map[string]string{"SalesCurrencyCode": foreignCurrency})
	})
	cat := f.erp.catalog(t)

	t.Run("key required", func(t *testing.T) { testKeyRequired(t, f) })
	t.Run("sessions", func(t *testing.T) { testSessions(t, f) })
	t.Run("wrong keys are limited", func(t *testing.T) { testWrongKeysAreLimited(t, f) })
	t.Run("prices equal the checker's", func(t *testing.T) { testPrices(t, f, cat) })
	t.Run("only showable products", func(t *testing.T) { testShowable(t, f, cat) })
	t.Run("languages", func(t *testing.T) { testLanguages(t, f, cat) })
	t.Run("facets and paging", func(t *testing.T) { testFacetsAndPaging(t, f) })
	t.Run("detail", func(t *testing.T) { testDetail(t, f, cat) })
	t.Run("no other customer's data", func(t *testing.T) { testNoOtherCustomersData(t, f, cat) })
	t.Run("autocomplete", func(t *testing.T) { testAutocomplete(t, f) })
	t.Run("hostile ids", func(t *testing.T) { testHostileIDs(t, f, cat) })
	t.Run("bounded inputs", func(t *testing.T) { testBoundedInputs(t, f) })
	t.Run("security headers", func(t *testing.T) { testSecurityHeaders(t, f) })
	t.Run("shoppers", func(t *testing.T) { testShoppers(t, f) })
	t.Run("demo login", func(t *testing.T) { testDemoLogin(t, f) })
	// Last: they change the ERP and the index.
	t.Run("unit conversions", func(t *testing.T) { testUnitConversions(t, f, cat) })
	t.Run("deleted product disappears", func(t *testing.T) { testDeleted(t, f, cat) })
	t.Run("only the document asked for", func(t *testing.T) { testOnlyTheDocumentAskedFor(t, f, cat) })
}

func testKeyRequired(t *testing.T, f *fixture) {
	session := login(t, f.shop.URL, testKey)
	for _, tc := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"none", func(*http.Request) {}, http.StatusUnauthorized},
		{"wrong header", func(r *http.Request) { r.Header.Set("X-Api-Key", "nope") }, http.StatusUnauthorized},
		{"wrong session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: storefront.SessionCookie, Value: "nope"}) }, http.StatusUnauthorized},
		{"the key as session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: storefront.SessionCookie, Value: testKey}) }, http.StatusUnauthorized},
		{"the key in the old cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "key", Value: testKey}) }, http.StatusUnauthorized},
		{"header", func(r *http.Request) { r.Header.Set("X-Api-Key", testKey) }, http.StatusOK},
		{"session", func(r *http.Request) { r.AddCookie(session) }, http.StatusOK},
	} {
		for _, path := range []string{"/api/search?q=chair", "/api/me", "/api/price?item=1000", "/api/autocomplete?q=co", "/demo/accounts"} {
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
	// The login sets a cookie only for the right key.
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

// login posts key to the storefront at base and returns the session cookie it sets.
func login(t *testing.T, base, key string) *http.Cookie {
	t.Helper()
	res, err := http.PostForm(base+"/api/login", url.Values{"key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if c.Name == storefront.SessionCookie && res.StatusCode == http.StatusOK {
			return c
		}
	}
	t.Fatalf("login: %d, cookies %v", res.StatusCode, res.Cookies())
	return nil
}

// getWith calls path on base with the cookie and returns the status.
func getWith(t *testing.T, base, path string, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// newShop serves a storefront over the fixture's index with cfg (ES, Prefix and APIKey set
// here) and returns its URL.
func newShop(t *testing.T, f *fixture, cfg storefront.Config) string {
	t.Helper()
	srv, err := storefront.New(f.config(cfg))
	if err != nil {
		t.Fatal(err)
	}
	shop := httptest.NewServer(srv)
	t.Cleanup(shop.Close)
	return shop.URL
}

// testSessions: the login's cookie is a random session id (not the key), Secure unless the
// storefront is configured for plain http, HttpOnly and SameSite=Strict; a session ends at
// logout (also for a copy of the cookie) and when it expires.
func testSessions(t *testing.T, f *fixture) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	shop := newShop(t, f, storefront.Config{SessionTTL: time.Hour, Now: clock})

	res, err := http.PostForm(shop+"/api/login", url.Values{"key": {testKey}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies := res.Cookies()
	if res.StatusCode != http.StatusOK || len(cookies) != 1 {
		t.Fatalf("login: %d %v", res.StatusCode, cookies)
	}
	c := cookies[0]
	if c.Name != storefront.SessionCookie || strings.Contains(c.Value, testKey) || len(c.Value) < 40 {
		t.Errorf("session cookie %s=%q: want a random id, not the key", c.Name, c.Value)
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 3600 {
		t.Errorf("session cookie: Secure %v, HttpOnly %v, SameSite %v, MaxAge %d; want Secure, HttpOnly, Strict, 3600", c.Secure, c.HttpOnly, c.SameSite, c.MaxAge)
	}
	if other := login(t, shop, testKey); other.Value == c.Value {
		t.Errorf("two logins got the same session id %q", c.Value)
	}
	if st := getWith(t, shop, "/api/search?q=chair", c); st != http.StatusOK {
		t.Fatalf("search with the session: %d", st)
	}
	// Expired: a minute past the hour.
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	if st := getWith(t, shop, "/api/search?q=chair", c); st != http.StatusUnauthorized {
		t.Errorf("search with an expired session: %d, want 401", st)
	}
	// Logout ends the session on the server: a copy of the cookie no longer works.
	c = login(t, shop, testKey)
	req, _ := http.NewRequest(http.MethodPost, shop+"/api/logout", nil)
	req.AddCookie(c)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if st := getWith(t, shop, "/api/search?q=chair", c); st != http.StatusUnauthorized {
		t.Errorf("search with the cookie of a session that logged out: %d, want 401", st)
	}

	// Plain http only when configured.
	plain := newShop(t, f, storefront.Config{PlainHTTP: true})
	if c := login(t, plain, testKey); c.Secure || !c.HttpOnly {
		t.Errorf("PlainHTTP session cookie: Secure %v, HttpOnly %v; want neither Secure nor script access", c.Secure, c.HttpOnly)
	}
	// The demo login is off unless enabled, and there is no list of every customer.
	session := login(t, plain, testKey)
	for _, path := range []string{"/demo/accounts", "/api/customers"} {
		if st := getWith(t, plain, path, session); st != http.StatusNotFound {
			t.Errorf("%s of a storefront without the demo login: %d, want 404", path, st)
		}
	}
}

// testWrongKeysAreLimited sends 2,000 wrong keys from one address, to the login and in the
// X-Api-Key header: after the default 10 a minute they are refused with 429 and Retry-After
// without being compared (the right key too), each wrong key compared is logged with the
// client's address, and the refusals once.
func testWrongKeysAreLimited(t *testing.T, f *fixture) {
	core, logs := observer.New(zap.WarnLevel)
	// The clock stands still: the limit is 10 a minute with the buckets refilling over time, and
	// 2,000 requests may take longer than the 6 s that refill one key on a loaded machine.
	now := time.Now()
	shop := newShop(t, f, storefront.Config{Log: zap.New(core), Now: func() time.Time { return now }})
	counts := map[int]int{}
	retryAfter := ""
	for i := range 2000 {
		var res *http.Response
		var err error
		if i%2 == 0 {
			res, err = http.PostForm(shop+"/api/login", url.Values{"key": {fmt.Sprintf("guess-%d", i)}})
		} else {
			req, _ := http.NewRequest(http.MethodGet, shop+"/api/search", nil)
			req.Header.Set("X-Api-Key", fmt.Sprintf("guess-%d", i))
			res, err = http.DefaultClient.Do(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		counts[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests {
			retryAfter = res.Header.Get("Retry-After")
		}
	}
	if counts[http.StatusUnauthorized] != 10 || counts[http.StatusTooManyRequests] != 1990 {
		t.Errorf("2,000 wrong keys: %v, want 10 401s and 1,990 429s", counts)
	}
	if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q: want 1 to 60 seconds", retryAfter)
	}
	res, err := http.PostForm(shop+"/api/login", url.Values{"key": {testKey}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right key while limited: %d, want 429 (not compared)", res.StatusCode)
	}
	wrong := logs.FilterMessage("wrong API key").All()
	if len(wrong) != 10 || wrong[0].ContextMap()["client"] != "127.0.0.1" {
		t.Errorf("%d wrong keys logged (want 10), first %v", len(wrong), wrong)
	}
	if n := logs.FilterMessageSnippet("key checks refused").Len(); n != 1 {
		t.Errorf("the refusals were logged %d times, want once", n)
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
	for _, lines := range [][]row{f.erp.All(t, "SalesPriceAgreements")} {
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
	// Past the import's safety lag by the ERP's clock, which the worker knows from its Date headers
	// (whole seconds): a second and a half.
	time.Sleep(1500 * time.Millisecond)
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

// testHostileIDs sends ids that would change the Elasticsearch request if they reached its path
// unescaped: a query string that drops the blocked or sales-stopped field, a fragment that cuts
// the id, a lone percent sign. Each must be an unknown id (404), never another document or a 502.
func testHostileIDs(t *testing.T, f *fixture, cat *erpCatalog) {
	var item, stopped string
	for k := range cat.products {
		c, it, _ := strings.Cut(k, ":")
		if c != apiTestCompany {
			continue
		}
		if cat.showable[k] && (item == "" || it < item) {
			item = it
		}
		if cat.stopped[k] && (stopped == "" || it < stopped) {
			stopped = it
		}
	}
	if item == "" || stopped == "" {
		t.Fatalf("the catalog lacks a showable (%q) or a visible sales-stopped product (%q)", item, stopped)
	}
	// The blocked customer is refused under their own account.
	if st, body := f.get("/api/price", url.Values{"item": {item}, "customer": {blockedCustomer}}, nil); st != http.StatusForbidden ||
		!strings.Contains(string(body), `"code":"`+storefront.RefusedBlocked+`"`) {
		t.Fatalf("price of %s for blocked %s: %d %s", item, blockedCustomer, st, body)
	}
	for _, tc := range []struct {
		name, path string
		params     url.Values
		status     int
		code       string
	}{
		// The customer's account comes in a signed token now; the index must still be asked
		// for that one document only.
		{"customer with a query string", "/api/price", url.Values{"item": {item}, "customer": {blockedCustomer + "?_source_excludes=blocked"}}, 403, storefront.RefusedUnknown},
		{"customer with a query string, search", "/api/search", url.Values{"q": {item}, "customer": {blockedCustomer + "?_source_excludes=blocked"}}, 403, storefront.RefusedUnknown},
		{"customer with a query string, detail", "/api/products/usmf/" + item, url.Values{"customer": {blockedCustomer + "?_source_excludes=blocked"}}, 403, storefront.RefusedUnknown},
		{"sales-stopped item with a query string", "/api/price", url.Values{"item": {stopped + "?_source_excludes=sales_stopped"}}, 404, "not_found"},
		{"sales-stopped item with a query string, detail", "/api/products/usmf/" + url.PathEscape(stopped+"?_source_excludes=sales_stopped"), nil, 404, "not_found"},
		{"item with a fragment", "/api/price", url.Values{"item": {item + "#x"}}, 404, "not_found"},
		{"item with a fragment, detail", "/api/products/usmf/" + url.PathEscape(item+"#x"), nil, 404, "not_found"},
		{"customer with a fragment", "/api/price", url.Values{"item": {item}, "customer": {blockedCustomer + "#x"}}, 403, storefront.RefusedUnknown},
		{"item %", "/api/price", url.Values{"item": {"%"}}, 404, "not_found"},
		{"item %zz", "/api/products/usmf/" + url.PathEscape("%zz"), nil, 404, "not_found"},
		{"customer %", "/api/price", url.Values{"item": {item}, "customer": {"%"}}, 403, storefront.RefusedUnknown},
		{"item with a slash", "/api/price", url.Values{"item": {item + "/_source"}}, 404, "not_found"},
	} {
		st, body := f.get(tc.path, tc.params, nil)
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if st != tc.status || e.Error.Code != tc.code {
			t.Errorf("%s: %s?%s: %d %.300s, want %d %s", tc.name, tc.path, tc.params.Encode(), st, body, tc.status, tc.code)
		}
	}
}

// testOnlyTheDocumentAskedFor copies a product's document under another id, as a broken write
// or a hand edit of the index could: the storefront must not serve it as that other product.
func testOnlyTheDocumentAskedFor(t *testing.T, f *fixture, cat *erpCatalog) {
	var item string
	for k := range cat.products {
		if c, it, _ := strings.Cut(k, ":"); c == apiTestCompany && cat.showable[k] && (item == "" || it < item) {
			item = it
		}
	}
	if st, body := f.get("/api/products/usmf/"+item, nil, nil); st != http.StatusOK {
		t.Fatalf("detail of %s: %d %s", item, st, body)
	}
	es := f.es
	alias := f.index.Alias(erp.Products)
	res, err := es.Get(alias, url.PathEscape(apiTestCompany+":"+item))
	if err != nil || res.IsError() {
		t.Fatalf("read %s: %v %v", item, err, res)
	}
	var doc struct {
		Source json.RawMessage `json:"_source"`
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, copyID := range []string{apiTestCompany + ":COPY-" + item, "demf:" + item} {
		res, err := es.Index(alias, bytes.NewReader(doc.Source), es.Index.WithDocumentID(url.PathEscape(copyID)), es.Index.WithRefresh("true"))
		if err != nil || res.IsError() {
			t.Fatalf("write the copy %s: %v %v", copyID, err, res)
		}
		res.Body.Close()
		t.Cleanup(func() {
			if res, err := es.Delete(alias, url.PathEscape(copyID), es.Delete.WithRefresh("true")); err == nil {
				res.Body.Close()
			}
		})
	}
	for _, path := range []string{"/api/products/usmf/COPY-" + item, "/api/products/demf/" + item} {
		if st, body := f.get(path, nil, nil); st != http.StatusNotFound {
			t.Errorf("%s, a copy of usmf:%s under another id: %d %.300s, want 404", path, item, st, body)
		}
	}
	if st, body := f.get("/api/price", url.Values{"item": {"COPY-" + item}}, nil); st != http.StatusNotFound {
		t.Errorf("price of the copy: %d %.300s, want 404", st, body)
	}
}

// testBoundedInputs sends inputs beyond the API's bounds: each is a 400 in the API's error
// format (code "invalid"), decided before Elasticsearch is asked.
func testBoundedInputs(t *testing.T, f *fixture) {
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("C%03d", i)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/search", url.Values{"q": {long(201)}}},
		{"/api/search", url.Values{"q": {"chair\x00"}}},
		{"/api/search", url.Values{"q": {"\xff\xfe"}}},
		{"/api/search", url.Values{"price_min": {"1e400"}}},
		{"/api/search", url.Values{"price_min": {"1" + strings.Repeat("0", 400)}}},
		{"/api/search", url.Values{"price_max": {"1" + strings.Repeat("0", 20)}}},
		{"/api/search", url.Values{"price_min": {"-5"}}},
		{"/api/search", url.Values{"price_max": {"NaN"}}},
		{"/api/search", url.Values{"price_max": {"Inf"}}},
		{"/api/search", url.Values{"page": {"9223372036854775807"}}},
		{"/api/search", url.Values{"page": {"768614336404564651"}, "per_page": {"24"}}}, // page*24 wraps to a small number
		{"/api/search", url.Values{"page": {"99999999999999999999"}}},
		{"/api/search", url.Values{"page": {"0"}}},
		{"/api/search", url.Values{"per_page": {"101"}}},
		{"/api/search", url.Values{"page": {"418"}, "per_page": {"24"}}},
		{"/api/search", url.Values{"color": {strings.Join(many, ",")}}},
		{"/api/search", url.Values{"category": many}},
		{"/api/search", url.Values{"size": {long(101)}}},
		{"/api/search", url.Values{"customer": {long(101)}}},
		{"/api/search", url.Values{"company": {long(17)}}},
		{"/api/search", url.Values{"lang": {long(17)}}},
		{"/api/search", url.Values{"sort": {"price;drop"}}},
		{"/api/search", url.Values{"after": {long(3000)}}},
		{"/api/autocomplete", url.Values{"q": {long(101)}}},
		{"/api/autocomplete", url.Values{"q": {"ch"}, "customer": {"US\x00-001"}}},
		{"/api/price", url.Values{"item": {long(101)}}},
		{"/api/price", url.Values{"item": {"1000"}, "quantity": {"1" + strings.Repeat("0", 40)}}},
		{"/api/price", url.Values{"item": {"1000"}, "quantity": {"0"}}},
		{"/api/price", url.Values{"item": {"1000"}, "variant": {long(101)}}},
		{"/api/price", url.Values{"item": {"1000"}, "date": {"2026-13-01"}}},
		{"/api/products/usmf/" + long(101), nil},
		{"/api/products/" + long(17) + "/1000", nil},
		{"/api/me", url.Values{"company": {long(17)}}},
		{"/api/me", url.Values{"per_page": {"101"}}},
		{"/api/me", url.Values{"webshop": {long(101)}}},
	} {
		// The parameters as they are: customer= is checked before anything else.
		st, body := f.getWith(tc.path, tc.params, nil, nil)
		var e struct {
			Error struct {
				Code, Message string
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if st != http.StatusBadRequest || e.Error.Code != "invalid" || e.Error.Message == "" {
			t.Errorf("%s?%.200s: %d %.300s, want 400 invalid", tc.path, tc.params.Encode(), st, body)
		}
	}
	// Within the bounds: characters, not bytes, count; the deepest page is served.
	for _, p := range []url.Values{
		{"q": {strings.Repeat("é", 200)}},
		{"page": {"10000"}, "per_page": {"1"}},
		{"price_min": {"0"}, "price_max": {"1000000000000000"}},
		{"color": many[:100]},
	} {
		if st, body := f.get("/api/search", p, nil); st != http.StatusOK {
			t.Errorf("search %.200s: %d %.300s, want 200", p.Encode(), st, body)
		}
	}
}

// testSecurityHeaders: every answer, page, file or API call, good or bad, forbids framing and
// referrers and carries the Content-Security-Policy.
func testSecurityHeaders(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		method, path string
		key          bool
		want         int
	}{
		{http.MethodGet, "/", false, http.StatusOK},
		{http.MethodGet, "/static/app.js", false, http.StatusOK},
		{http.MethodGet, "/static/style.css", false, http.StatusOK},
		{http.MethodGet, "/static/missing.js", false, http.StatusNotFound},
		{http.MethodGet, "/healthz", false, http.StatusOK},
		{http.MethodGet, "/api/search?q=chair", true, http.StatusOK},
		{http.MethodGet, "/api/search?q=chair", false, http.StatusUnauthorized},
		{http.MethodGet, "/api/search?page=0", true, http.StatusBadRequest},
		{http.MethodGet, "/api/products/usmf/nothing", true, http.StatusNotFound},
		{http.MethodGet, "/api/nothing", true, http.StatusNotFound},
		{http.MethodPost, "/api/login", false, http.StatusUnauthorized},
		{http.MethodPost, "/api/logout", false, http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, f.shop.URL+tc.path, nil)
		if tc.key {
			req.Header.Set("X-Api-Key", testKey)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.want)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s %s: Content-Security-Policy %q lacks %s", tc.method, tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s %s: Content-Security-Policy %q allows inline script or style", tc.method, tc.path, csp)
		}
		if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s %s: Referrer-Policy %q", tc.method, tc.path, got)
		}
		if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s %s: X-Frame-Options %q", tc.method, tc.path, got)
		}
	}
}
