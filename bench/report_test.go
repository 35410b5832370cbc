package bench

import (
	"encoding/json"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReport: the table and the saved JSON carry every figure; this is the package's plain
// `go test`, quick and without services (the benchmarks need them: `make bench`).
func TestReport(t *testing.T) {
	r := &Report{Started: time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC), Catalog: map[string]int{"products": 100000}}
	r.Add("bulk_docs_per_second", "(1) raw _bulk", 12345.6, "docs/s", "4 requests | in flight")
	r.Add("ratio", "(2)/(1)", 0.8312, "", "")
	r.Add("rss", "RSS", 52, "MiB", "")
	table := r.Table()
	for _, want := range []string{"| (1) raw _bulk | 12,346 | docs/s | 4 requests / in flight |", "| (2)/(1) | 0.831 |", "| RSS | 52 | MiB |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if v, ok := r.Value("ratio"); !ok || v != 0.8312 {
		t.Errorf("Value(ratio) = %v, %v", v, ok)
	}
	path, err := r.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, "bench-20261127-010203-100000p.json") {
		t.Errorf("saved as %s", path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Figures) != 3 || back.Figures[0].Value != 12345.6 {
		t.Fatalf("saved report reads back as %+v (%v)", back, err)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 20; i++ {
		d = append(d, time.Duration(i)*time.Second)
	}
	if p := Percentile(d, 50); p != 10*time.Second {
		t.Errorf("p50 = %v", p)
	}
	if p := Percentile(d, 95); p != 19*time.Second {
		t.Errorf("p95 = %v", p)
	}
	if p := Percentile(nil, 50); p != 0 {
		t.Errorf("p50 of none = %v", p)
	}
}

func TestProcessFigures(t *testing.T) {
	pid := os.Getpid()
	if rss, err := PeakRSS(pid); err != nil || rss < 1<<20 {
		t.Errorf("PeakRSS = %d, %v", rss, err)
	}
	if _, err := CPUTime(pid); err != nil {
		t.Error(err)
	}
	if m := ThisMachine(); m.CPUs < 1 || m.MemTotal == "" {
		t.Errorf("machine %+v", m)
	}
}

// TestResetPeakRSS: a peak of 256 MiB touched and given back is forgotten by the reset, and a
// peak after it is counted.
func TestResetPeakRSS(t *testing.T) {
	pid := os.Getpid()
	touch := func(n int) {
		b := make([]byte, n)
		for i := 0; i < n; i += 4096 {
			b[i] = 1
		}
		runtime.KeepAlive(b)
	}
	touch(256 << 20)
	debug.FreeOSMemory()
	before := mustRSS(t, pid)
	if before < 256<<20 {
		t.Fatalf("peak after touching 256 MiB: %d MiB", before>>20)
	}
	if err := ResetPeakRSS(pid); err != nil {
		t.Fatal(err)
	}
	if after := mustRSS(t, pid); after > before-128<<20 {
		t.Errorf("peak after the reset: %d MiB, before it %d MiB", after>>20, before>>20)
	}
	touch(192 << 20)
	if again := mustRSS(t, pid); again < 192<<20 {
		t.Errorf("peak after touching 192 MiB since the reset: %d MiB", again>>20)
	}
}

// TestActivityTimeIsTheUnionOfTheirSpans: activities that run at once (a partitioned rebuild's
// chunks) count once: spans 0-10 s, 2-5 s, 8-12 s and 20-21 s cover 13 s, not 20.
func TestActivityTimeIsTheUnionOfTheirSpans(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	spans := [][2]time.Time{{at(8), at(12)}, {at(0), at(10)}, {at(20), at(21)}, {at(2), at(5)}}
	if got := union(spans); got != 13*time.Second {
		t.Fatalf("union %s, want 13s", got)
	}
}

// TestInterleave: 10 documents in 3 streams of 2 at a time are ranges 0-3, 4-7, 8-9, taken two
// from each in turn.
func TestInterleave(t *testing.T) {
	var docs []rawDoc
	for i := range 10 {
		docs = append(docs, rawDoc{id: strconv.Itoa(i)})
	}
	var got []string
	for _, d := range interleave(docs, 3, 2) {
		got = append(got, d.id)
	}
	if want := "0 1 4 5 8 9 2 3 6 7"; strings.Join(got, " ") != want {
		t.Fatalf("interleave: %v, want %s", got, want)
	}
}

// TestMedian: the middle of an odd number, the mean of the middle two of an even one, whatever
// the order.
func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{5}, 5}, {[]float64{9, 1, 4}, 4}, {[]float64{4, 1, 9, 2}, 3}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

// TestBracketed: a sample between baseline samples of 100 and 300 docs/s that made 100 is at
// half of them; the median is of the ratios, not of the rates.
func TestBracketed(t *testing.T) {
	ratios, median := Bracketed([]float64{100, 90, 300}, []float64{100, 300, 100, 500})
	if want := []float64{0.5, 0.45, 1}; !slices.Equal(ratios, want) || median != 0.5 {
		t.Errorf("Bracketed: %v, median %v; want %v, median 0.5", ratios, median, want)
	}
	if r, m := Bracketed([]float64{1, 2}, []float64{1, 2}); r != nil || m != 0 {
		t.Errorf("Bracketed without a baseline after the last sample: %v, %v; want none", r, m)
	}
}

// TestSignTest: the expected p-values are counted by hand from binomial coefficients, over 2^n
// outcomes of n fair tosses, doubled for the two sides.
func TestSignTest(t *testing.T) {
	for _, c := range []struct {
		wins, n int
		want    float64
	}{
		{5, 7, 2 * (21 + 7 + 1) / 128.0},                                  // C(7,5)+C(7,6)+C(7,7)
		{2, 7, 2 * (21 + 7 + 1) / 128.0},                                  // the other way, the same
		{7, 7, 2 / 128.0},                                                 // all of them
		{8, 9, 2 * (9 + 1) / 512.0},                                       // C(9,8)+C(9,9)
		{10, 16, 2 * (8008 + 4368 + 1820 + 560 + 120 + 16 + 1) / 65536.0}, // C(16,10..16)
		{1, 2, 1},  // as even as it can be: 2 * 3/4, capped
		{0, 0, 1},  // no pairs say nothing
		{3, 2, 1},  // not a count of pairs
		{-1, 2, 1}, // nor this
	} {
		if got := SignTest(c.wins, c.n); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("SignTest(%d, %d) = %.6f, want %.6f", c.wins, c.n, got, c.want)
		}
	}
}
