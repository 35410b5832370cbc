package storefront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
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
	"github.com/erpsync/erpsync/erpsim/simtest"
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
	cardRE  = regexp.MustCompile(`<article class="card product" data-item="([^"]+)">`)
	priceRE = regexp.MustCompile(`class="price[^"]*" data-price="([^"]+)" data-currency="([^"]+)" data-source="([^"]+)">([^<]+)<`)
)

// TestBrowser loads the demo page in headless Chromium with a search, a category facet and a
// customer in its URL, and checks that the prices on the cards are the API's prices for that
// customer. It saves screenshots of the result list and a product page under screenshots/.
func TestBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simtest.Catalog(apiTestSeed), nil)

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
	cards := cardRE.FindAllStringSubmatchIndex(dom, -1)
	if len(cards) != len(want.Hits) {
		t.Fatalf("the page shows %d cards, the API %d hits", len(cards), len(want.Hits))
	}
	for i, c := range cards {
		item := dom[c[2]:c[3]]
		end := len(dom)
		if i+1 < len(cards) {
			end = cards[i+1][0]
		}
		h := want.Hits[i]
		if item != h.ItemNumber {
			t.Errorf("card %d is %s, the API's hit %s", i, item, h.ItemNumber)
			continue
		}
		m := priceRE.FindStringSubmatch(dom[c[0]:end])
		if !h.Price.Available {
			if m != nil {
				t.Errorf("card %s shows a price %s, the API has none", item, m[1])
			}
			continue
		}
		if m == nil {
			t.Errorf("card %s shows no price, the API says %s %s", item, h.Price.Price, h.Price.Currency)
			continue
		}
		if m[1] != string(h.Price.Price) || m[2] != h.Price.Currency || m[3] != h.Price.Source {
			t.Errorf("card %s shows %s %s (%s), the API says %s %s (%s)", item, m[1], m[2], m[3], h.Price.Price, h.Price.Currency, h.Price.Source)
		}
		if shown := html.UnescapeString(m[4]); !strings.Contains(shown, strings.SplitN(string(h.Price.Price), ".", 2)[0]) {
			t.Errorf("card %s shows %q for %s", item, shown, h.Price.Price)
		}
	}
	t.Logf("%d cards for customer %s in category %s match the API's prices", len(cards), customer, category)

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

	t.Run("hostile attachment URLs", func(t *testing.T) { testHostileURLsInPage(t, f, detail) })
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
