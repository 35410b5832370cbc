package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestScrapeShowsWhatWasRecorded(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.Records("products", "indexed", 120)
	m.Records("products", "indexed", 30)
	m.Records("customers", "dead_lettered", 2)
	m.Chunk("products", 1500*time.Millisecond)
	m.Watermark("products", time.Unix(1_800_000_000, 0))
	m.Temporal().Counter("temporal_request").Inc(1)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`erpsync_records_total{entity="products",outcome="indexed"} 150`,
		`erpsync_records_total{entity="customers",outcome="dead_lettered"} 2`,
		`erpsync_chunk_duration_seconds_count{entity="products"} 1`,
		`erpsync_watermark_timestamp_seconds{entity="products"} 1.8e+09`,
		`temporal_request`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}
