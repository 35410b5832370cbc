package storefront_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/storefront"
)

// BenchmarkSearchWithFacets measures GET /api/search with facets and per-customer prices under
// load on loopback: BENCH_PRODUCTS products (default 20,000; the size is 100,000) of
// one company synced from the simulator, BENCH_CONCURRENCY clients (default 8) for
// BENCH_SECONDS (default 15). It reports p50 and p99 latency and requests per second; run it
// with -benchtime=1x (the setup is the expensive part and runs once per invocation).
//
//	ELASTICSEARCH_URL=http://127.0.0.1:9200 BENCH_PRODUCTS=100000 \
//	  go test -run '^$' -bench SearchWithFacets -benchtime=1x ./storefront/
func BenchmarkSearchWithFacets(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 20_000)
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
	var urls []string
	for _, q := range queries {
		urls = append(urls, f.shop.URL+"/api/search?"+q.Encode())
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	began := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(deadline); i++ {
				req, _ := http.NewRequest(http.MethodGet, urls[i%len(urls)], nil)
				req.Header.Set("X-Api-Key", testKey)
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
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	rps := float64(len(all)) / elapsed.Seconds()
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(float64(products), "products")
	b.Logf("%d products, %d clients, %s: %d requests, p50 %s, p99 %s, max %s, %.0f req/s",
		products, clients, elapsed.Round(time.Millisecond), len(all), pct(0.50), pct(0.99), all[len(all)-1], rps)
}
