package storefront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/storefront"
)

// chromium runs Debian's headless Chromium on url with extra flags and returns its stdout. The
// page's virtual time runs for 5 s (network waits do not count), long enough for its fetches.
// The page's console goes to stderr: anything the Content-Security-Policy refused fails the test.
func chromium(t *testing.T, pageURL string, flags ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (apt-get install -y chromium; .ci/run does it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--window-size=1280,900", "--virtual-time-budget=5000",
		"--enable-logging=stderr", "--v=0"}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, pageURL)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", pageURL, err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "Content Security Policy") {
			t.Errorf("the page broke its Content-Security-Policy: %s", line)
		}
	}
	return string(out)
}

var (
	cardRE      = regexp.MustCompile(`<article class="card product" data-item="([^"]+)">`)
	priceRE     = regexp.MustCompile(`class="price[^"]*" data-price="([^"]+)" data-currency="([^"]+)" data-source="([^"]+)">([^<]+)<`)
	listPriceRE = regexp.MustCompile(`<s class="list-price" data-list-price="([^"]+)">([^<]+)</s>`)
	agreementRE = regexp.MustCompile(`<span class="agreement" data-relations="([^"]*)">([^<]+)</span>`)
)

// shownCard is what the page shows on one result card.
type shownCard struct {
	item, price, currency, source, text string
	// listPrice is the struck-through list price ("" when none is shown), agreement the kind of
	// agreement that gave the price and relations its line discount relations.
	listPrice, agreement, relations string
	priced                          bool
}

// cards reads the result cards of a page's DOM.
func cards(dom string) []shownCard {
	idx := cardRE.FindAllStringSubmatchIndex(dom, -1)
	var out []shownCard
	for i, c := range idx {
		end := len(dom)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		body := dom[c[0]:end]
		sc := shownCard{item: dom[c[2]:c[3]]}
		if m := priceRE.FindStringSubmatch(body); m != nil {
			sc.priced, sc.price, sc.currency, sc.source, sc.text = true, m[1], m[2], m[3], html.UnescapeString(m[4])
		}
		if m := listPriceRE.FindStringSubmatch(body); m != nil {
			sc.listPrice = m[1]
		}
		if m := agreementRE.FindStringSubmatch(body); m != nil {
			sc.relations, sc.agreement = m[1], html.UnescapeString(m[2])
		}
		out = append(out, sc)
	}
	return out
}

// ratio is a/b for decimal texts.
func ratio(t *testing.T, a, b string) *big.Rat {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	if !ok1 || !ok2 || y.Sign() == 0 {
		t.Fatalf("ratio of %q and %q", a, b)
	}
	return new(big.Rat).Quo(x, y)
}

// TestBrowser loads the demo page in headless Chromium with a search, a category facet and a
// customer in its URL, and checks that the cards show the API's prices for that customer, the list
// price struck through and the kind of agreement that gave a price. It does the search on
// `make dev`'s demo catalog ("chair" as US-001) and saves screenshots of the result list and a
// product page under screenshots/.
func TestBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, generate.Defaults(), nil)

	// The search and facet to drive: "chair" in the largest category it has.
	var res storefront.SearchResult
	f.get("/api/search", url.Values{"q": {"chair"}}, &res)
	var category string
	for _, fc := range res.Facets {
		if fc.Name == "category" && len(fc.Values) > 0 {
			category = fc.Values[0].Value
		}
	}
	if category == "" {
		t.Fatalf("no category for chair: %+v", res.Facets)
	}
	// The customer: one with a price group line among the hits, so the page shows their prices.
	customer := pickCustomer(t, f, category)

	params := url.Values{"q": {"chair"}, "category": {category}, "customer": {customer}}
	var want storefront.SearchResult
	f.get("/api/search", url.Values{"q": {"chair"}, "category": {category}, "customer": {customer}, "per_page": {"24"}}, &want)
	if len(want.Hits) == 0 {
		t.Fatal("the API finds nothing to show")
	}

	page := f.shop.URL + "/?" + params.Encode() + "#key=" + testKey
	dom := chromium(t, page, "--dump-dom")
	if !strings.Contains(dom, `data-ready="search"`) {
		t.Fatalf("the page did not finish its search:\n%.3000s", dom)
	}
	if !regexp.MustCompile(`data-facet="category".*?<input type="checkbox" name="f-category" checked="" data-value="` + regexp.QuoteMeta(category) + `"`).MatchString(dom) {
		t.Errorf("the category facet %s is not shown as selected", category)
	}
	shown := cards(dom)
	if len(shown) != len(want.Hits) {
		t.Fatalf("the page shows %d cards, the API %d hits", len(shown), len(want.Hits))
	}
	for i, c := range shown {
		checkCard(t, c, want.Hits[i])
	}
	t.Logf("%d cards for customer %s in category %s match the API's prices", len(shown), customer, category)

	// The search: "chair" as US-001 (the demo customer with the price group Wholesale).
	// No product below half its list price, every lower price with the agreement that gave it,
	// and the group's prices among them, struck-through list price and all.
	want = storefront.SearchResult{} // decoding into the earlier answer would keep fields this one omits
	f.get("/api/search", url.Values{"q": {"chair"}, "customer": {"US-001"}, "per_page": {"24"}}, &want)
	shown = cards(chromium(t, f.shop.URL+"/?"+url.Values{"q": {"chair"}, "customer": {"US-001"}}.Encode()+"#key="+testKey, "--dump-dom"))
	if len(shown) != len(want.Hits) || len(shown) == 0 {
		t.Fatalf("chair as US-001: the page shows %d cards, the API %d hits", len(shown), len(want.Hits))
	}
	lowest, group := big.NewRat(1, 1), 0
	for i, c := range shown {
		checkCard(t, c, want.Hits[i])
		if c.listPrice == "" {
			continue
		}
		if r := ratio(t, c.price, c.listPrice); r.Cmp(lowest) < 0 {
			lowest = r
		}
		if c.source == storefront.SourcePriceGroup && strings.Contains(c.agreement, "group's price") {
			group++
		}
	}
	if lowest.Cmp(big.NewRat(1, 2)) < 0 {
		t.Errorf("chair as US-001: a product at %s of its list price", lowest.FloatString(3))
	}
	if group == 0 {
		t.Errorf("chair as US-001: no card with the group's price and the list price struck through")
	}
	t.Logf("chair as US-001: %d cards, %d at the group's price, the lowest at %s of its list price", len(shown), group, lowest.FloatString(3))

	// The product page: a product master (variants, bar codes) if the catalog has one.
	detail := want.Hits[0].ItemNumber
	var masters storefront.SearchResult
	f.get("/api/search", url.Values{"q": {"chair"}, "per_page": {"100"}}, &masters)
	for _, h := range masters.Hits {
		if h.HasVariant {
			detail = h.ItemNumber
			break
		}
	}

	dir, err := filepath.Abs(filepath.Join("..", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]string{
		"storefront-search.png": page,
		"storefront-product.png": f.shop.URL + "/?" + url.Values{"q": {"chair"}, "category": {category}, "customer": {customer},
			"product": {detail}}.Encode() + "#key=" + testKey,
	} {
		png := filepath.Join(dir, name)
		chromium(t, u, "--screenshot="+png)
		if st, err := os.Stat(png); err != nil || st.Size() < 10_000 {
			t.Errorf("screenshot %s: %v", png, err)
		}
		t.Logf("screenshot: %s", png)
	}

	t.Run("unit conversions on the product page", func(t *testing.T) { testConversionsInPage(t, f, masters.Hits) })
	t.Run("hostile attachment URLs", func(t *testing.T) { testHostileURLsInPage(t, f, detail) })
}

// testConversionsInPage opens the page of a product with unit conversions and finds each as the
// API states it: "1 box = 12 ea".
func testConversionsInPage(t *testing.T, f *fixture, hits []storefront.Hit) {
	for _, h := range hits {
		var d storefront.Product
		if st, body := f.get("/api/products/usmf/"+h.ItemNumber, nil, &d); st != http.StatusOK {
			t.Fatalf("detail %s: %d %s", h.ItemNumber, st, body)
		}
		if len(d.UnitConversions) == 0 {
			continue
		}
		dom := chromium(t, f.shop.URL+"/?"+url.Values{"product": {h.ItemNumber}}.Encode()+"#key="+testKey, "--dump-dom")
		if !strings.Contains(dom, `data-ready="product"`) {
			t.Fatalf("the product page of %s did not open:\n%.3000s", h.ItemNumber, dom)
		}
		for _, c := range d.UnitConversions {
			if text := "1 " + c.From + " = " + c.Quantity + " " + c.To; !strings.Contains(dom, text) {
				t.Errorf("the page of %s does not say %q", h.ItemNumber, text)
			}
		}
		return
	}
	t.Fatal("no product with unit conversions among the hits")
}

// checkCard compares a card the page shows with the API's hit: the price, its currency and source,
// the list price struck through exactly when the shopper pays less, and the kind of agreement
// named exactly when one gave the price.
func checkCard(t *testing.T, c shownCard, h storefront.Hit) {
	t.Helper()
	if c.item != h.ItemNumber {
		t.Errorf("card %s, the API's hit %s", c.item, h.ItemNumber)
		return
	}
	q := h.Price
	if !q.Available {
		if c.priced {
			t.Errorf("card %s shows a price %s, the API has none", c.item, c.price)
		}
		return
	}
	if !c.priced {
		t.Errorf("card %s shows no price, the API says %s %s", c.item, q.Price, q.Currency)
		return
	}
	if c.price != string(q.Price) || c.currency != q.Currency || c.source != q.Source {
		t.Errorf("card %s shows %s %s (%s), the API says %s %s (%s)", c.item, c.price, c.currency, c.source, q.Price, q.Currency, q.Source)
	}
	if !strings.Contains(c.text, strings.SplitN(string(q.Price), ".", 2)[0]) {
		t.Errorf("card %s shows %q for %s", c.item, c.text, q.Price)
	}
	reduced := q.ListPrice != "" && q.Price.Cmp(q.ListPrice) < 0
	if reduced != (c.listPrice != "") || reduced && c.listPrice != string(q.ListPrice) {
		t.Errorf("card %s shows list price %q; the API: %s for %s", c.item, c.listPrice, q.Price, q.ListPrice)
	}
	var relations []string
	for _, d := range q.Discounts {
		relations = append(relations, d.Relation)
	}
	byAgreement := q.Source != storefront.SourceBase || len(q.Discounts) > 0
	if byAgreement != (c.agreement != "") || c.relations != strings.Join(relations, " ") {
		t.Errorf("card %s names the agreement %q (%q); the API: source %s, discounts %v", c.item, c.agreement, c.relations, q.Source, relations)
	}
	if reduced && c.agreement == "" {
		t.Errorf("card %s shows a price below the list price without the agreement that gave it", c.item)
	}
}

// testHostileURLsInPage puts javascript: URLs into a product's document, as an index written
// before the import filtered them may hold, and opens its product page with the colour facet
// and swatches on screen (element styles, which the Content-Security-Policy checks): no link or
// image may carry such a URL, and the policy must not be broken.
func testHostileURLsInPage(t *testing.T, f *fixture, item string) {
	const hostile = "javascript:document.body.dataset.pwned=1"
	update, _ := json.Marshal(map[string]any{"doc": map[string]any{
		"image_url": hostile,
		"attachments": []map[string]any{
			{"id": "evil-1", "document_type": "File", "title": "Manual", "url": hostile, "default_image": false, "display_order": 0},
			{"id": "evil-2", "document_type": "Image", "url": " JavaScript:alert(1)", "default_image": true, "display_order": 1},
		},
	}})
	res, err := f.es.Update(f.index.Alias(erp.Products), url.PathEscape("usmf:"+item), bytes.NewReader(update), f.es.Update.WithRefresh("true"))
	if err != nil || res.IsError() {
		t.Fatalf("plant javascript: URLs in %s: %v %v", item, err, res)
	}
	res.Body.Close()
	var d storefront.Product
	if st, body := f.get("/api/products/usmf/"+item, nil, &d); st != http.StatusOK || len(d.Attachments) != 2 || d.Attachments[0].URL != hostile {
		t.Fatalf("the planted document is not served: %d %.300s", st, body)
	}
	dom := chromium(t, f.shop.URL+"/?"+url.Values{"product": {item}}.Encode()+"#key="+testKey, "--dump-dom")
	if !strings.Contains(dom, `data-ready="product"`) || !strings.Contains(dom, "Manual") {
		t.Fatalf("the product page of %s did not open with its attachments:\n%.3000s", item, dom)
	}
	if !strings.Contains(dom, `class="swatch"`) {
		t.Errorf("no colour swatch on the page: the policy's check of element styles saw none")
	}
	if m := regexp.MustCompile(`(?i)(href|src)="\s*javascript:[^"]*"`).FindAllString(dom, -1); len(m) > 0 || strings.Contains(dom, "pwned") {
		t.Errorf("the page carries javascript: URLs: %q", m)
	}
}

// pickCustomer returns a customer who is not blocked and has their own price on at least one
// hit in category, else any customer who is not blocked.
func pickCustomer(t *testing.T, f *fixture, category string) string {
	var list struct {
		Customers []storefront.CustomerRef `json:"customers"`
	}
	f.get("/api/customers", nil, &list)
	fallback := ""
	for _, c := range list.Customers {
		var res storefront.SearchResult
		if st, _ := f.get("/api/search", url.Values{"q": {"chair"}, "category": {category}, "customer": {c.Account}}, &res); st != http.StatusOK {
			continue
		}
		for _, h := range res.Hits {
			if h.Price.Source == storefront.SourceCustomer || h.Price.Source == storefront.SourcePriceGroup {
				return c.Account
			}
			if h.Price.Available && fallback == "" {
				fallback = c.Account
			}
		}
	}
	if fallback == "" {
		t.Fatal(fmt.Sprintf("no customer sees prices in %s", category))
	}
	return fallback
}
