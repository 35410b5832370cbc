package bench

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/testenv"
)

// BenchmarkBulkOrder measures what the order of the documents costs Elasticsearch: raw _bulk of
// the catalog's product documents (BenchmarkImport's (1), every document of BENCH_PRODUCTS,
// default 100,000) in catalog order, and as BENCH_BULK_STREAMS (default 1,13) partitions side by
// side write them: the catalog split into that many ranges, 1,000 documents from each in turn.
// A rebuild of n partitions writes in the second order. Every document is written with its
// _id and an external version, so Elasticsearch looks each id up in every segment whose range
// of ids holds it: in catalog order a new id lies after every segment's, in partition order
// inside most of them. It ignores b.N (run it with -benchtime 1x).
func BenchmarkBulkOrder(b *testing.B) {
	products := testenv.EnvInt(b, "BENCH_PRODUCTS", 100_000)
	r := &Report{Started: time.Now().UTC(), Machine: ThisMachine(), Settings: settings(),
		Command: "make bench BENCH_PKGS=./bench/ BENCH_FLAGS=\"... -bench BenchmarkBulkOrder\"" + map[bool]string{true: " BENCH_PRODUCTS=" + strconv.Itoa(products), false: ""}[products != 100_000]}
	cat := catalog(products)
	r.Catalog = map[string]int{"products": cat.Products, "customers": cat.Customers, "companies": len(cat.Companies)}
	s := newSuite(b)
	r.CPULayout = s.pinCPUs()
	defer s.finish(r)
	sm := s.startSim(cat)
	docs, _ := s.readCatalog(sm, products)
	for _, k := range envInts(b, "BENCH_BULK_STREAMS", "1,13") {
		bulk := s.rawBulk(interleave(docs, k, 1000))
		r.Add(fmt.Sprintf("bulk_streams_%d_docs_per_second", k), fmt.Sprintf("raw _bulk, %d stream(s) side by side", k), bulk.rate, "docs/s",
			fmt.Sprintf("%d docs, %d requests in flight (best of %s); Elasticsearch CPU %.0f s, %.3f ms a document",
				len(docs), bulk.best, bulk.tried, bulk.esWork.cpu.Seconds(), bulk.esWork.cpu.Seconds()*1000/float64(len(docs))))
	}
}

// interleave returns docs as k partitions side by side would write them: docs split into k
// ranges, and per documents taken from each range in turn.
func interleave(docs []rawDoc, k, per int) []rawDoc {
	if k <= 1 {
		return docs
	}
	size := (len(docs) + k - 1) / k
	var ranges [][]rawDoc
	for lo := 0; lo < len(docs); lo += size {
		ranges = append(ranges, docs[lo:min(lo+size, len(docs))])
	}
	out := make([]rawDoc, 0, len(docs))
	for len(out) < len(docs) {
		for i, r := range ranges {
			n := min(per, len(r))
			out = append(out, r[:n]...)
			ranges[i] = r[n:]
		}
	}
	return out
}
