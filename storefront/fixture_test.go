package storefront_test

import (
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.uber.org/zap/zaptest"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/simtest"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/storefront"
)

const testKey = "test-key"

// fixture is a seeded simulator synced into a prefix of its own on the real Elasticsearch, with
// a storefront over it.
type fixture struct {
	t     testing.TB
	sim   *simtest.Sim
	erp   *erpReader
	index *search.Index
	es    *elasticsearch.Client
	imp   *activities.Import
	shop  *httptest.Server
	today string
}

// newFixture starts the simulator with cat, lets prepare change the ERP (over OData) before
// the sync, rebuilds products and customers into the index, and serves a storefront over it.
func newFixture(t testing.TB, cat generate.Config, prepare func(*erpReader)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, today: time.Now().UTC().Format(time.DateOnly)}
	f.sim = simtest.Start(t, cat, erpsim.Config{})
	f.erp = &erpReader{f.sim.Reader(t)}
	if prepare != nil {
		prepare(f.erp)
	}
	es := testenv.Elasticsearch(t)
	f.es = es
	f.index = search.New(es, testenv.Prefix(t, es))
	if err := f.index.Setup(ctx); err != nil {
		t.Fatalf("set up indexes: %v", err)
	}
	src, err := d365.New(d365.Config{BaseURL: f.sim.URL, ClientID: f.sim.ClientID, ClientSecret: f.sim.ClientSecret, RetryWait: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.imp = &activities.Import{Source: src, Index: f.index, Settings: activities.Settings{
		PageSize: 250, ChunkPages: 50, SafetyLag: time.Millisecond,
		Document: document.Options{CompanyLanguages: f.erp.CompanyLanguages(t)},
	}}
	// As the product import does: the company-wide data, then the products.
	for _, e := range []erp.Entity{erp.Categories, erp.LineDiscounts, erp.Activations, erp.Products, erp.Customers} {
		f.sync(e, activities.Rebuild)
	}
	srv, err := storefront.New(storefront.Config{ES: es, Prefix: f.index.Prefix(), APIKey: testKey, CustomerList: true, PlainHTTP: true,
		KeyLimits: storefront.KeyLimits{PerAddress: 1000, Global: 1000, Window: time.Minute}, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	f.shop = httptest.NewServer(srv)
	t.Cleanup(f.shop.Close)
	return f
}

// sync runs one import of e the way the workflow does, calling the activities directly.
func (f *fixture) sync(e erp.Entity, mode activities.Mode) activities.Counts {
	f.t.Helper()
	ctx := context.Background()
	b, err := f.imp.Begin(ctx, activities.BeginInput{Entity: e, Mode: mode, RunID: "test"})
	if err != nil {
		f.t.Fatalf("begin %s %s: %v", mode, e, err)
	}
	var counts activities.Counts
	cur := b.From
	for {
		r, err := f.imp.SyncChunk(ctx, activities.ChunkInput{Entity: e, Target: b.Target, After: cur, Until: b.Until})
		if err != nil {
			f.t.Fatalf("sync %s: %v", e, err)
		}
		counts, cur = counts.Add(r.Counts), r.Next
		if r.Done {
			break
		}
	}
	var deletions erp.Cursor
	if mode == activities.Update {
		d, err := f.imp.ApplyDeletions(ctx, activities.DeletionsInput{Entities: []erp.Entity{e}, From: b.DeletionsFrom, Until: b.Until})
		if err != nil {
			f.t.Fatalf("apply deletions: %v", err)
		}
		counts, deletions = counts.Add(d.Counts), d.Next
	}
	if _, err := f.imp.Finish(ctx, activities.FinishInput{Entity: e, Mode: mode, RunID: "test", Target: b.Target, Until: b.Until, Deletions: deletions, Counts: counts}); err != nil {
		f.t.Fatalf("finish %s: %v", e, err)
	}
	if err := f.index.Refresh(ctx, f.index.Alias(e)); err != nil {
		f.t.Fatal(err)
	}
	return counts
}

// get calls the storefront with the API key and decodes a 200 answer into out; it returns the
// status and the raw body.
func (f *fixture) get(path string, params url.Values, out any) (int, []byte) {
	f.t.Helper()
	u := f.shop.URL + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("X-Api-Key", testKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			f.t.Fatalf("GET %s: %v: %s", u, err, body)
		}
	}
	return res.StatusCode, body
}

// searchAll follows the next tokens of a search and returns every hit's item number.
func (f *fixture) searchAll(params url.Values) []storefront.Hit {
	f.t.Helper()
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	p.Set("per_page", "100")
	var all []storefront.Hit
	for {
		var res storefront.SearchResult
		if st, body := f.get("/api/search", p, &res); st != http.StatusOK {
			f.t.Fatalf("search %v: %d %s", p, st, body)
		}
		all = append(all, res.Hits...)
		if res.Next == "" {
			if int64(len(all)) != res.Total {
				f.t.Fatalf("search %v: walked %d hits, total says %d", p, len(all), res.Total)
			}
			return all
		}
		p.Set("after", res.Next)
	}
}

// row is one OData record, numbers kept as their exact text.
type row = simtest.Row

// rat is a decimal field as an exact rational.
func rat(t testing.TB, r row, k string) *big.Rat {
	x, ok := new(big.Rat).SetString(r.S(k))
	if !ok {
		t.Fatalf("%s=%q is not a number", k, r.S(k))
	}
	return x
}

// erpReader reads the ERP over OData with nothing but net/http (simtest.Reader): the independent
// side of the comparisons. It shares no code with the storefront or the connector.
type erpReader struct{ *simtest.Reader }

// change sends a PATCH or DELETE to one record, e.g. "CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')".
func (e *erpReader) change(t testing.TB, method, record string, body any) {
	t.Helper()
	e.Write(t, method, record, body)
}

// erpCatalog is what the checker knows from the ERP.
type erpCatalog struct {
	products  map[string]row  // "usmf:1000"
	customers map[string]row  // "usmf:US-001"
	showable  map[string]bool // visible, not sales-stopped
	stopped   map[string]bool // visible but sales-stopped
	currency  map[string]string
}

func key(company, k string) string { return strings.ToLower(company) + ":" + k }

func (e *erpReader) catalog(t testing.TB) *erpCatalog {
	t.Helper()
	c := &erpCatalog{products: map[string]row{}, customers: map[string]row{}, showable: map[string]bool{}, stopped: map[string]bool{}, currency: map[string]string{}}
	for _, r := range e.All(t, "LegalEntities") {
		c.currency[strings.ToLower(r.S("LegalEntityId"))] = r.S("CurrencyCode")
	}
	for _, r := range e.All(t, "ReleasedProductsV2") {
		c.products[key(r.S("dataAreaId"), r.S("ItemNumber"))] = r
	}
	for _, r := range e.All(t, "CustomersV3") {
		c.customers[key(r.S("dataAreaId"), r.S("CustomerAccount"))] = r
	}
	visibleCat := map[string]bool{}
	for _, r := range e.All(t, "ProductCategories") {
		visibleCat[key(r.S("dataAreaId"), r.S("CategoryId"))] = r.S("IsVisibleInWebshop") == "Yes"
	}
	visible := map[string]bool{}
	for _, r := range e.All(t, "ProductCategoryAssignments") {
		if visibleCat[key(r.S("dataAreaId"), r.S("CategoryId"))] {
			visible[key(r.S("dataAreaId"), r.S("ItemNumber"))] = true
		}
	}
	stopped := map[string]bool{}
	for _, r := range e.All(t, "ItemDefaultOrderSettings") {
		stopped[key(r.S("dataAreaId"), r.S("ItemNumber"))] = r.S("IsSalesStopped") == "Yes"
	}
	for k := range c.products {
		c.showable[k] = visible[k] && !stopped[k]
		c.stopped[k] = visible[k] && stopped[k]
	}
	return c
}
