package search_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/erpsync/erpsync/document"
	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/search"
)

// BenchmarkWrite compares Write with one raw _bulk request of the same page of product
// documents (the golden master product under 500 item numbers), each round at a higher version
// so every document is really indexed. Compare the docs/s of the two (Write should reach at
// least 0.8x of raw _bulk; the import's targets are in docs/design.md).
func BenchmarkWrite(b *testing.B) {
	es := testenv.Elasticsearch(b)
	x := search.New(es, testenv.Prefix(b, es))
	in, err := os.ReadFile(filepath.Join("..", "document", "testdata", "product-master.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	var p erp.Product
	if err := json.Unmarshal(in, &p); err != nil {
		b.Fatal(err)
	}
	const page = 500
	bodies := make([][]byte, page)
	for i := range bodies {
		p.ItemNumber = fmt.Sprintf("T-%05d", i)
		d, err := document.FromProduct(p, document.Options{})
		if err != nil {
			b.Fatal(err)
		}
		bodies[i], _ = json.Marshal(d)
	}
	var version int64
	b.Run("Write", func(b *testing.B) {
		gen, err := x.CreateGeneration(b.Context(), erp.Products)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			version++
			ops := make([]search.Op, page)
			for i, body := range bodies {
				ops[i] = search.IndexOp(fmt.Sprintf("usmf:T-%05d", i), version, json.RawMessage(body))
			}
			c, err := x.Write(b.Context(), gen, ops)
			if err != nil || c.Indexed != page {
				b.Fatalf("%+v %v", c, err)
			}
		}
		b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("RawBulk", func(b *testing.B) {
		gen, err := x.CreateGeneration(b.Context(), erp.Products)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			version++
			var buf bytes.Buffer
			for i, body := range bodies {
				fmt.Fprintf(&buf, `{"index":{"_id":"usmf:T-%05d","version":%d,"version_type":"external"}}`+"\n", i, version)
				buf.Write(body)
				buf.WriteByte('\n')
			}
			res, err := esapi.BulkRequest{Index: gen, Body: &buf}.Do(b.Context(), es)
			if err != nil || res.IsError() {
				b.Fatalf("%v %v", res, err)
			}
			res.Body.Close()
		}
		b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "docs/s")
	})
}
