package storefront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"html"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/internal/pricecheck"
	"github.com/erpsync/erpsync/shopper"
	"github.com/erpsync/erpsync/storefront"
	"github.com/erpsync/erpsync/webshop"
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

// demoPage is the demo page signed in through the demo login as the demo account of kind (guest,
// customer, contact, agent) of webshop shop, with the page parameters params; the API key comes
// in the fragment, as the page's login form would send it.
func (f *fixture) demoPage(shop, kind string, params url.Values) string {
	p := url.Values{"webshop": {shop}, "as": {kind}}
	for k, v := range params {
		p[k] = v
	}
	return f.shop.URL + "/?" + p.Encode() + "#key=" + testKey
}

var (
	whoRE    = regexp.MustCompile(`id="who" data-kind="([^"]*)" data-acting="([^"]*)" data-currency="([^"]*)"`)
	optionRE = regexp.MustCompile(`<option value="[^"]*"(?: disabled="")? data-account="([^"]+)"`)
	nameRE   = regexp.MustCompile(`<span class="name">([^<]*)</span>`)
)

// shownAs reads whom the page says it shops as: the shopper's kind, the account priced for and
// its currency.
func shownAs(t *testing.T, dom string) (kind, acting, currency string) {
	t.Helper()
	m := whoRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page does not say whom it shops as:\n%.3000s", dom)
	}
	return m[1], m[2], m[3]
}

// devWebshops are make dev's webshops, read from scripts/dev-webshops.yaml as the storefront
// reads its configuration file.
func devWebshops(t *testing.T) []webshop.Webshop {
	t.Helper()
	c, set := config.ForStorefront()
	fs := flag.NewFlagSet("storefront", flag.ContinueOnError)
	env := map[string]string{"ERPSYNC_CONFIG": filepath.Join("..", "scripts", "dev-webshops.yaml")}
	if _, err := set.Parse(fs, nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatalf("make dev's webshops: %v", err)
	}
	return c.Webshops
}

// shownCurrency is the currency a customer buying in own sees in a webshop showing shown:
// its own when shown, else the webshop's first (Sana: "If currency is not set for a customer,
// the default one is used"; one the webshop does not show is not visible).
func shownCurrency(shown []string, own string) string {
	if slices.Contains(shown, own) {
		return own
	}
	return shown[0]
}

// onHold reports whether a CustomersV3 row is on hold (OnHoldStatus other than No or Never:
// docs/webshops.md).
func onHold(r row) bool { return r.S("OnHoldStatus") != "No" && r.S("OnHoldStatus") != "Never" }

// TestBrowser serves make dev's webshops (scripts/dev-webshops.yaml) and loads the demo page in
// headless Chromium, signed in through the demo login as each kind of demo account of the usmf
// webshop, and checks that the cards show the prices
// internal/pricecheck computes from the ERP's rows for the customer each acts for: a guest the
// template customer's, a customer its own, a contact its customer's, a sales agent the
// customer it switched to. The agent's list of customers is the ERP's group membership, and a
// customer outside its groups is refused. The demf webshop shows its catalogue in German and
// euros. It saves screenshots of the demo login, a result list and a product page under
// screenshots/.
func TestBrowser(t *testing.T) {
	t.Parallel()
	shops := devWebshops(t)
	f := newFixtureOf(t, generate.Defaults(), shops, nil)
	rows := f.erp.priceRows(t)
	us := f.webshops[0]
	if len(shops) != 2 || us.Company != "usmf" || shops[1].Company != "demf" {
		t.Fatalf("make dev's webshops: %+v; want usmf's and demf's", shops)
	}

	// Every demo account of make dev's webshops can shop: each is in the index and in its
	// webshop, and each agent has customers.
	for _, w := range shops {
		for kind, id := range map[shopper.Kind]string{shopper.Customer: w.Demo.Customer, shopper.Contact: w.Demo.Contact, shopper.Agent: w.Demo.Agent} {
			var me storefront.Me
			if st, _, body := f.as(w.ID, kind, id, "/api/me", nil, &me); st != http.StatusOK || kind == shopper.Agent && (me.Customers == nil || me.Customers.Total == 0) {
				t.Errorf("webshop %s's demo %s %s: %d %s", w.ID, kind, id, st, body)
			}
		}
	}

	// Whom each demo account acts for, from the ERP over OData.
	var contactOf string
	for _, c := range f.erp.All(t, "ContactPersonsV2") {
		if strings.EqualFold(c.S("dataAreaId"), us.Company) && c.S("ContactPersonId") == us.Demo.Contact {
			contactOf = c.S("CustomerAccount")
		}
	}
	groups := f.erp.agentsCustomers(t, us.Company)[us.Demo.Agent]
	var agentsPick, outside string
	for _, c := range f.erp.All(t, "CustomersV3") {
		if !strings.EqualFold(c.S("dataAreaId"), us.Company) || onHold(c) {
			continue
		}
		a := c.S("CustomerAccount")
		switch in := slices.Contains(groups, a); {
		case in && a != us.Demo.Customer && a != contactOf && (agentsPick == "" || a < agentsPick):
			agentsPick = a
		case !in && (outside == "" || a < outside):
			outside = a
		}
	}
	if contactOf == "" || contactOf == us.Demo.Customer || agentsPick == "" || outside == "" {
		t.Fatalf("demo contact %s's customer %q, agent %s's customers %v (picked %q), a customer outside them %q", us.Demo.Contact, contactOf,
			us.Demo.Agent, groups, agentsPick, outside)
	}

	same := func(a, b string) bool {
		x, okx := new(big.Rat).SetString(a)
		y, oky := new(big.Rat).SetString(b)
		return okx && oky && x.Cmp(y) == 0
	}
	for _, tc := range []struct {
		kind, customer string // customer: the one an agent acts for
		acting         string // the account whose prices apply, by the ERP
	}{
		{storefront.KindGuest, "", generate.TemplateAccount(us.Company)},
		{"customer", "", us.Demo.Customer},
		{"contact", "", contactOf},
		{"agent", agentsPick, agentsPick},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			params := url.Values{"q": {"chair"}}
			if tc.customer != "" {
				params.Set("customer", tc.customer)
			}
			dom := chromium(t, f.demoPage(us.ID, tc.kind, params), "--dump-dom")
			if !strings.Contains(dom, `data-ready="search"`) {
				t.Fatalf("the page did not finish its search:\n%.3000s", dom)
			}
			kind, acting, currency := shownAs(t, dom)
			want := shownCurrency(us.Currencies, rows.customers[key(us.Company, tc.acting)]["SalesCurrencyCode"])
			if kind != tc.kind || acting != tc.acting || currency != want {
				t.Errorf("the page shops as %s for %s in %s; want %s for %s in %s", kind, acting, currency, tc.kind, tc.acting, want)
			}
			shown := cards(dom)
			if len(shown) == 0 {
				t.Fatalf("no cards for chair:\n%.3000s", dom)
			}
			priced := 0
			for _, c := range shown {
				exp := rows.expectIn(t, us.Currencies, question{company: us.Company, account: tc.acting, item: c.item, ask: pricecheck.Ask{Quantity: "1", Date: f.today}})
				if exp.OK != c.priced || exp.OK && (!same(c.price, exp.Net) || c.currency != exp.Currency) {
					t.Errorf("card %s shows %v %s %s; the checker for %s: %v %s %s (%s)", c.item, c.priced, c.price, c.currency, tc.acting,
						exp.OK, exp.Net, exp.Currency, exp.Reason)
				}
				if c.priced {
					priced++
				}
			}
			if priced == 0 {
				t.Errorf("no card shows a price")
			}
			if tc.kind == "agent" {
				var listed []string
				for _, m := range optionRE.FindAllStringSubmatch(dom, -1) {
					listed = append(listed, m[1])
				}
				if !slices.Equal(listed, groups) {
					t.Errorf("agent %s's customer list on the page: %v; the ERP's group membership: %v", us.Demo.Agent, listed, groups)
				}
			}
			t.Logf("%s for %s: %d cards, %d priced, as the checker prices them", tc.kind, tc.acting, len(shown), priced)
		})
	}

	// The search: "chair" as the demo customer US-001 (price group Wholesale). No
	// product below half its list price, every lower price with the agreement that gave it,
	// and the group's prices among them, struck-through list price and all.
	var want storefront.SearchResult
	f.get("/api/search", url.Values{"q": {"chair"}, "customer": {us.Demo.Customer}, "per_page": {"24"}}, &want)
	page := f.demoPage(us.ID, "customer", url.Values{"q": {"chair"}})
	shown := cards(chromium(t, page, "--dump-dom"))
	if len(shown) != len(want.Hits) || len(shown) == 0 {
		t.Fatalf("chair as %s: the page shows %d cards, the API %d hits", us.Demo.Customer, len(shown), len(want.Hits))
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
		t.Errorf("chair as %s: a product at %s of its list price", us.Demo.Customer, lowest.FloatString(3))
	}
	if group == 0 {
		t.Errorf("chair as %s: no card with the group's price and the list price struck through", us.Demo.Customer)
	}
	t.Logf("chair as %s: %d cards, %d at the group's price, the lowest at %s of its list price", us.Demo.Customer, len(shown), group, lowest.FloatString(3))

	// An agent asking for a customer outside its groups is refused, and the page says so.
	dom := chromium(t, f.demoPage(us.ID, "agent", url.Values{"q": {"chair"}, "customer": {outside}}), "--dump-dom")
	if !strings.Contains(dom, `data-refused="`+storefront.RefusedNotYours+`"`) || !strings.Contains(dom, outside) || len(cards(dom)) != 0 {
		t.Errorf("agent %s for %s, outside its groups: the page does not show the refusal:\n%.3000s", us.Demo.Agent, outside, dom)
	}

	// The demo login's screen lists each webshop's demo accounts, one of each kind, and no
	// customer picker.
	login := chromium(t, f.shop.URL+"/#key="+testKey, "--dump-dom")
	if !strings.Contains(login, `data-ready="accounts"`) {
		t.Fatalf("the demo login's screen is not shown:\n%.3000s", login)
	}
	for _, w := range f.webshops {
		for _, a := range []string{`data-kind="guest" data-id=""`, `data-kind="customer" data-id="` + w.Demo.Customer + `"`,
			`data-kind="contact" data-id="` + w.Demo.Contact + `"`, `data-kind="agent" data-id="` + w.Demo.Agent + `"`} {
			if !strings.Contains(login, a) {
				t.Errorf("the demo login does not offer %s of webshop %s", a, w.ID)
			}
		}
	}
	if n := strings.Count(login, `data-kind=`); n != 4*len(f.webshops) {
		t.Errorf("the demo login offers %d accounts, want 4 for each of %d webshops", n, len(f.webshops))
	}

	testWebshopLanguage(t, f, shops[1])

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
		"storefront-login.png":   f.shop.URL + "/#key=" + testKey,
		"storefront-search.png":  f.demoPage(us.ID, "agent", url.Values{"q": {"chair"}, "customer": {agentsPick}}),
		"storefront-product.png": f.demoPage(us.ID, "customer", url.Values{"q": {"chair"}, "product": {detail}}),
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

// testWebshopLanguage: a guest of make dev's demf webshop sees its catalogue in German (the
// ERP's "de" translations) and in euros, the webshop's language and currency.
func testWebshopLanguage(t *testing.T, f *fixture, shop webshop.Webshop) {
	de := map[string]string{} // item -> German name
	for _, r := range f.erp.All(t, "ProductTranslations") {
		if strings.EqualFold(r.S("dataAreaId"), "demf") && strings.EqualFold(r.S("LanguageId"), "de") {
			de[r.S("ItemNumber")] = r.S("ProductName")
		}
	}
	dom := chromium(t, f.demoPage(shop.ID, storefront.KindGuest, nil), "--dump-dom")
	if !strings.Contains(dom, `data-ready="search"`) || !strings.Contains(dom, `<html lang="de">`) {
		t.Fatalf("the demf page is not in German:\n%.3000s", dom)
	}
	if _, _, currency := shownAs(t, dom); currency != "EUR" {
		t.Errorf("the demf page shows %s, want EUR", currency)
	}
	shown := cards(dom)
	names := nameRE.FindAllStringSubmatch(dom, -1)
	if len(shown) == 0 || len(names) != len(shown) {
		t.Fatalf("demf: %d cards, %d names", len(shown), len(names))
	}
	for i, c := range shown {
		if want := de[c.item]; want == "" || html.UnescapeString(names[i][1]) != want {
			t.Errorf("demf card %s is named %q, its German name is %q", c.item, names[i][1], want)
		}
		if c.priced && c.currency != "EUR" {
			t.Errorf("demf card %s is priced in %s", c.item, c.currency)
		}
	}
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
		dom := chromium(t, f.demoPage(f.webshops[0].ID, storefront.KindGuest, url.Values{"product": {h.ItemNumber}}), "--dump-dom")
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
	dom := chromium(t, f.demoPage(f.webshops[0].ID, storefront.KindGuest, url.Values{"product": {item}}), "--dump-dom")
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
