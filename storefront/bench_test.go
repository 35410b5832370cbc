package storefront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/storefront"
)

// BenchmarkSearchWithFacets measures GET /api/search with facets and per-customer prices under
// load on loopback: BENCH_PRODUCTS products (default 100,000, the size) of one company
// synced from the simulator, BENCH_CONCURRENCY clients (default 8) for BENCH_SECONDS (default
// 15). It reports p50 and p99 latency and requests per second, and in the same run, with the
// same clients on the same index, a bare Elasticsearch match query (the target: the storefront's
// p99 within 3x of the bare query's), and the _source bytes per hit the storefront reads against
// the whole document's. Run it with -benchtime=1x (the setup is the expensive part):
//
//	ELASTICSEARCH_URL=http://127.0.0.1:9200 BENCH_PRODUCTS=100000 \
//	  go test -run '^$' -bench SearchWithFacets -benchtime=1x -timeout 60m ./storefront/
func BenchmarkSearchWithFacets(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	clients := testenv.EnvInt(b, "BENCH_CONCURRENCY", 8)
	seconds := testenv.EnvInt(b, "BENCH_SECONDS", 15)

	start := time.Now()
	f := newFixture(b, generate.Config{Seed: 5, Companies: []string{"usmf"}, Languages: []string{"en-us", "de", "nl"},
		Products: products, MasterShare: 0.3, VariantsPerMaster: 4, Customers: 60, ContactsPerCust: -1, SalesReps: 3,
		PriceGroups: 3, Categories: 40}, nil)
	b.Logf("%d products generated, synced and served in %s", products, time.Since(start).Round(time.Second))

	// Paging past 10,000 hits stays exact: every product once, in order.
	if products > 10_000 {
		walked := f.searchAll(url.Values{"sort": {"name"}})
		ids := map[string]bool{}
		for _, h := range walked {
			ids[h.ID] = true
		}
		if len(ids) != len(walked) || len(walked) < 10_000 {
			b.Fatalf("walking %d hits with next tokens gave %d distinct products", len(walked), len(ids))
		}
		b.Logf("walked all %d showable products with next tokens, none twice", len(walked))
	}

	// The query mix a shop sends: full text in two languages, facet filters, sorting, deep pages,
	// anonymous and logged-in customers.
	var list struct {
		Customers []storefront.CustomerRef `json:"customers"`
	}
	f.get("/api/customers", nil, &list)
	var first storefront.SearchResult
	f.get("/api/search", nil, &first)
	facet := func(name string) string {
		for _, fc := range first.Facets {
			if fc.Name == name && len(fc.Values) > 0 {
				return fc.Values[0].Value
			}
		}
		b.Fatalf("no %s facet", name)
		return ""
	}
	queries := []url.Values{
		{"q": {"chair"}},
		{"q": {"stuhl"}, "lang": {"de"}},
		{"q": {"wireless speaker"}, "customer": {list.Customers[0].Account}},
		{"category": {facet("category")}, "sort": {"price"}},
		{"color": {facet("color")}, "size": {facet("size")}, "customer": {list.Customers[1].Account}},
		{"q": {"classic"}, "price_min": {"100"}, "price_max": {"250"}, "sort": {"name"}},
		{"page": {"40"}, "per_page": {"24"}},
		{"q": {"lamp"}, "lang": {"nl"}, "customer": {list.Customers[2].Account}},
	}
	var shop []*http.Request
	for _, q := range queries {
		req, _ := http.NewRequest(http.MethodGet, f.shop.URL+"/api/search?"+q.Encode(), nil)
		req.Header.Set("X-Api-Key", testKey)
		shop = append(shop, req)
	}
	// The bare query: a match on the name, 24 hits, on the same index, straight to Elasticsearch.
	esURL := strings.TrimRight(os.Getenv("ELASTICSEARCH_URL"), "/")
	var bare []*http.Request
	for _, text := range []string{"chair", "wireless speaker", "classic", "lamp"} {
		body := fmt.Sprintf(`{"size":24,"query":{"match":{"name.en":%q}}}`, text)
		req, _ := http.NewRequest(http.MethodPost, esURL+"/"+f.index.Alias(erp.Products)+"/_search", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		bare = append(bare, req)
	}

	b.ResetTimer()
	sf := load(b, shop, clients, seconds)
	es := load(b, bare, clients, seconds)
	b.StopTimer()

	// _source bytes per hit: what a result card reads now, against the whole document (what a
	// hit read before hits were limited to the card's fields).
	card, whole := sourceBytes(b, esURL, f.index.Alias(erp.Products), storefront.HitSource("en")), sourceBytes(b, esURL, f.index.Alias(erp.Products), nil)

	b.ReportMetric(float64(sf.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(sf.p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(sf.rps, "req/s")
	b.ReportMetric(float64(es.p50.Microseconds())/1000, "bare-p50-ms")
	b.ReportMetric(float64(es.p99.Microseconds())/1000, "bare-p99-ms")
	b.ReportMetric(sf.p99.Seconds()/es.p99.Seconds(), "p99-ratio")
	b.ReportMetric(card, "source-bytes/hit")
	b.ReportMetric(whole, "document-bytes/hit")
	b.ReportMetric(float64(products), "products")
	b.Logf("%d products, %d clients, %ds each: storefront %d requests, p50 %s, p99 %s, max %s, %.0f req/s; bare match %d requests, p50 %s, p99 %s, %.0f req/s; p99 ratio %.2f (target <= 3)",
		products, clients, seconds, sf.n, sf.p50, sf.p99, sf.max, sf.rps, es.n, es.p50, es.p99, es.rps, sf.p99.Seconds()/es.p99.Seconds())
	b.Logf("_source per hit: %.0f bytes of the card's fields, %.0f bytes of the whole document", card, whole)
}

// latencies are what one load run measured.
type latencies struct {
	n             int
	p50, p99, max time.Duration
	rps           float64
}

// load sends reqs round robin from clients goroutines for seconds and measures each answer's
// latency; any error or non-200 answer fails b.
func load(b *testing.B, reqs []*http.Request, clients, seconds int) latencies {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	began := time.Now()
	for c := range clients {
		wg.Go(func() {
			for i := c; time.Now().Before(deadline); i++ {
				req := reqs[i%len(reqs)].Clone(context.Background())
				if req.GetBody != nil {
					req.Body, _ = req.GetBody()
				}
				t0 := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: %s", req.URL, res.Status)
					}
				}
				if err != nil {
					errs[c] = err
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	return latencies{n: len(all), p50: pct(0.50), p99: pct(0.99), max: all[len(all)-1], rps: float64(len(all)) / elapsed.Seconds()}
}

// sourceBytes is the mean size of a hit's _source over 24 hits of a match_all, with only the
// includes fields (the whole document when nil).
func sourceBytes(b *testing.B, esURL, index string, includes []string) float64 {
	q := map[string]any{"size": 24, "query": map[string]any{"match_all": map[string]any{}}, "sort": []any{map[string]any{"id": "asc"}}}
	if includes != nil {
		q["_source"] = includes
	}
	body, _ := json.Marshal(q)
	res, err := http.Post(esURL+"/"+index+"/_search", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Hits.Hits) == 0 {
		b.Fatalf("_source sizes: %v (%s)", err, res.Status)
	}
	n := 0
	for _, h := range out.Hits.Hits {
		n += len(h.Source)
	}
	return float64(n) / float64(len(out.Hits.Hits))
}
