package metrics

import (
	"io"
	"net/http/httptest"
	"regexp"
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

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// TestSDKLatenciesInSecondBuckets: the SDK records its timers in seconds; a 1.5 s activity
// latency lands in a bucket between 1 and 2 s (with OpenTelemetry's default millisecond bounds
// it fell in le="5", together with everything under 5 s).
func TestSDKLatenciesInSecondBuckets(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.Temporal().Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)
	body := scrape(t, m)
	bucket := func(le string) string {
		re := regexp.MustCompile(`(?m)^temporal_activity_execution_latency_seconds_bucket\{[^}]*le="` + regexp.QuoteMeta(le) + `"[^}]*\} (\S+)$`)
		mm := re.FindStringSubmatch(body)
		if mm == nil {
			t.Fatalf("no bucket le=%q in the scrape:\n%s", le, grep(body, "temporal_activity_execution_latency"))
		}
		return mm[1]
	}
	if got := bucket("1"); got != "0" {
		t.Errorf("le=1: %s samples, want 0", got)
	}
	if got := bucket("2"); got != "1" {
		t.Errorf("le=2: %s samples, want the 1.5 s sample", got)
	}
	if got := bucket("0.5"); got != "0" {
		t.Errorf("le=0.5: %s samples, want 0", got)
	}
}

// TestSDKCountersAreCounters: the SDK's counters only go up and are exported as Prometheus
// counters (rate() and increase() work on them), and target_info names the service.
func TestSDKCountersAreCounters(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	m.Temporal().Counter("temporal_request").Inc(3)
	body := scrape(t, m)
	if !strings.Contains(body, "# TYPE temporal_request_total counter") {
		t.Errorf("temporal_request is not a counter:\n%s", grep(body, "temporal_request"))
	}
	if !regexp.MustCompile(`(?m)^temporal_request_total\{.*\} 3$`).MatchString(body) {
		t.Errorf("temporal_request_total is not 3:\n%s", grep(body, "temporal_request"))
	}
	if !regexp.MustCompile(`(?m)^target_info\{.*service_name="erpsync-worker".*\} 1$`).MatchString(body) {
		t.Errorf("target_info lacks service_name=erpsync-worker:\n%s", grep(body, "target_info"))
	}
}

// TestRunsAndDeadLettersStartAtZero: the counters alert rules take increase() of exist before
// their first event, and a run's outcome is counted with the time it ended.
func TestRunsAndDeadLettersStartAtZero(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	body := scrape(t, m)
	if !strings.Contains(body, `erpsync_records_total{entity="products",outcome="dead_lettered"} 0`) {
		t.Errorf("no zero dead-letter counter before the first dead letter:\n%s", grep(body, "erpsync_records_total"))
	}
	m.Run("ProductImport", "update", "failed")
	m.Expired(4)
	body = scrape(t, m)
	for _, want := range []string{
		`erpsync_runs_total{mode="update",outcome="failed",workflow="ProductImport"} 1`,
		`erpsync_last_run_timestamp_seconds{mode="update",outcome="failed",workflow="ProductImport"}`,
		`erpsync_dead_letters_expired_total 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func grep(body, word string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
