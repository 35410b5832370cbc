package d365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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

// BenchmarkDecodePage decodes the answers of one page of up to 1,000 products with all their children
// (recorded from the simulator, demo catalog) and the largest of them alone, with the scanner and
// with encoding/json into maps as the client did before (oldDecode, kept here for comparison).
func BenchmarkDecodePage(b *testing.B) {
	s := newSim(b, generate.Defaults())
	c := s.client(b, nil)
	rec := &recorder{next: http.DefaultTransport}
	c.http.Transport = rec
	p, err := c.Products(context.Background(), erp.ReadRequest{PageSize: 1000})
	// A page of 1,000 roots may end a little early, where its children's lists of keys are full
	// (976 products of the demo catalog's first page).
	if err != nil || len(p.Records) < 900 {
		b.Fatalf("a page of %d products (want 900 to 1,000), %v", len(p.Records), err)
	}
	largest := 0
	for i, a := range rec.answers {
		if i > 0 && len(a.body) > len(rec.answers[largest].body) {
			largest = i
		}
	}
	for _, bc := range []struct {
		name    string
		answers []answer
	}{
		{"answers=page", rec.answers},
		{"answers=" + rec.answers[largest].coll, rec.answers[largest : largest+1]},
	} {
		size, rows := 0, 0
		texts := make([]string, len(bc.answers))
		for i, a := range bc.answers {
			size += len(a.body)
			texts[i] = string(a.body)
			env, err := parseEnvelope(texts[i])
			if err != nil {
				b.Fatal(err)
			}
			rows += len(env.Rows)
		}
		b.Run(bc.name+"/decoder=json", func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for i, a := range bc.answers {
					if _, err := oldDecode(a.body, i == 0 && len(bc.answers) > 1); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(bc.name+"/decoder=scan", func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			coll := c.colls[collPrices]
			for b.Loop() {
				for _, text := range texts {
					env, err := parseEnvelope(text)
					if err != nil {
						b.Fatal(err)
					}
					coll.rename(env.Rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// answer is a recorded answer body and the collection it is of.
type answer struct {
	coll string
	body []byte
}

// recorder is an http.RoundTripper that records the bodies of OData answers, in order.
type recorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	answers []answer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/data/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.answers = append(r.answers, answer{strings.TrimPrefix(req.URL.Path, "/data/"), body})
	r.mu.Unlock()
	return resp, nil
}

// oldDecode is how the client decoded an answer before the scanner: encoding/json into maps,
// roots (keepRaw) first as raw rows, each then decoded on its own (the former parseEnvelope and
// decodeRows).
func oldDecode(body []byte, keepRaw bool) ([]map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var raw struct {
		Value    any    `json:"value"`
		NextLink string `json:"@odata.nextLink"`
		Count    *int64 `json:"@odata.count"`
	}
	var raws []json.RawMessage
	var rows []map[string]any
	if keepRaw {
		raw.Value = &raws
	} else {
		raw.Value = &rows
	}
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("malformed answer (%d bytes): %w", len(body), err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("malformed answer (%d bytes): data after the JSON object", len(body))
	}
	if raws == nil && rows == nil {
		return nil, fmt.Errorf("malformed answer (%d bytes): no \"value\" array", len(body))
	}
	for i, m := range rows {
		if m == nil {
			return nil, fmt.Errorf("malformed answer (%d bytes): row %d is not an object", len(body), i)
		}
	}
	for i, raw := range raws {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil || m == nil {
			return nil, fmt.Errorf("malformed row %d: %.200s", i, raw)
		}
		rows = append(rows, m)
	}
	return rows, nil
}
