package d365

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
)

// BenchmarkReadProducts reads a page of 1,000 products with all their children from the
// simulator (the demo catalog: 3,000 products in 3 companies, 20% masters with variants, 4
// languages) and reports products/s and requests per page. The sub-benchmarks compare ways of
// batching the children: "in" is the most item numbers per "in (...)" list (url: as many as a
// 7 KB URL holds, url16k: a 16 KB URL; 1: one request per product and child collection),
// "conc" the child requests in flight.
func BenchmarkReadProducts(b *testing.B) {
	s := newSim(b, generate.Defaults())
	for _, bc := range []struct {
		maxIn, conc, maxURL int
	}{{0, 4, 0}, {0, 1, 0}, {0, 2, 0}, {0, 8, 0}, {0, 4, 16_000}, {100, 4, 0}, {250, 4, 0}, {1, 8, 0}} {
		in := "url"
		if bc.maxURL > 0 {
			in = fmt.Sprintf("url%dk", bc.maxURL/1000)
		}
		if bc.maxIn > 0 {
			in = fmt.Sprint(bc.maxIn)
		}
		b.Run(fmt.Sprintf("in=%s/conc=%d", in, bc.conc), func(b *testing.B) {
			c := s.client(b, func(c *Config) { c.Concurrency, c.MaxURLLength = bc.conc, bc.maxURL })
			c.maxIn = bc.maxIn
			var products, requests int
			for b.Loop() {
				p, err := c.Products(context.Background(), erp.ReadRequest{PageSize: 1000})
				if err != nil {
					b.Fatal(err)
				}
				products += len(p.Records)
				requests += p.Requests
			}
			b.ReportMetric(float64(products)/b.Elapsed().Seconds(), "products/s")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/page")
		})
	}
	// With 10ms of network latency per request, as to a D365 in another region.
	if err := s.srv.Load().SetFaults(erpsim.Faults{Latency: erpsim.Duration(10 * time.Millisecond)}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ maxIn, conc, maxURL int }{{0, 4, 0}, {0, 1, 0}, {0, 8, 0}, {0, 4, 16_000}, {100, 4, 0}} {
		b.Run(fmt.Sprintf("latency=10ms/in=%d/conc=%d/url=%d", bc.maxIn, bc.conc, bc.maxURL), func(b *testing.B) {
			c := s.client(b, func(c *Config) { c.Concurrency, c.MaxURLLength = bc.conc, bc.maxURL })
			c.maxIn = bc.maxIn
			var products int
			for b.Loop() {
				p, err := c.Products(context.Background(), erp.ReadRequest{PageSize: 1000})
				if err != nil {
					b.Fatal(err)
				}
				products += len(p.Records)
			}
			b.ReportMetric(float64(products)/b.Elapsed().Seconds(), "products/s")
		})
	}
}
