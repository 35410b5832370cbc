// Package bench holds erpsync's end-to-end benchmarks (`make bench`, in bench_test.go) and
// the report they print and save: raw _bulk against the full import, update runs, freshness,
// worker memory and orchestration overhead, all from one run on one machine.
package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Figure is one measured value.
type Figure struct {
	Key   string  `json:"key"`  // stable, for scripts: "bulk_docs_per_second"
	Name  string  `json:"name"` // for people: "(1) raw _bulk baseline"
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
}

// Machine is what the figures were measured on.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemTotal string `json:"mem_total"`
	OS       string `json:"os"`
	Go       string `json:"go"`
}

// Report is one benchmark run: where, with what, and the figures in the order they were taken.
type Report struct {
	Started  time.Time         `json:"started"`
	Command  string            `json:"command"`
	Machine  Machine           `json:"machine"`
	Catalog  map[string]int    `json:"catalog"`
	Settings map[string]string `json:"settings"`
	// CPULayout says which CPUs Elasticsearch and the rest had (BENCH_ES_CPUS); "" when they
	// shared every CPU.
	CPULayout string   `json:"cpu_layout,omitempty"`
	Figures   []Figure `json:"figures"`
}

// Add appends a figure.
func (r *Report) Add(key, name string, value float64, unit, note string) {
	r.Figures = append(r.Figures, Figure{Key: key, Name: name, Value: value, Unit: unit, Note: note})
}

// Value returns the value of the figure with key, and whether there is one.
func (r *Report) Value(key string) (float64, bool) {
	for _, f := range r.Figures {
		if f.Key == key {
			return f.Value, true
		}
	}
	return 0, false
}

// Table returns the figures as a Markdown table, ready for the README.
func (r *Report) Table() string {
	var b strings.Builder
	b.WriteString("| figure | value | unit | note |\n|---|--:|---|---|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.Name, formatValue(f.Value), f.Unit, strings.ReplaceAll(f.Note, "|", "/"))
	}
	return b.String()
}

// formatValue prints big numbers whole with thousands separators and small ones with the
// digits that mean something.
func formatValue(v float64) string {
	switch {
	case v >= 1000 || v <= -1000:
		s := strconv.FormatInt(int64(v+0.5), 10)
		var out []byte
		for i := range len(s) {
			if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
				out = append(out, ',')
			}
			out = append(out, s[i])
		}
		return string(out)
	case v == float64(int64(v)):
		return strconv.FormatInt(int64(v), 10)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// Save writes the report as indented JSON into dir (created if needed), named after its start
// time and catalog size, and returns the file's path.
func (r *Report) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("bench-%s-%dp.json", r.Started.UTC().Format("20060102-150405"), r.Catalog["products"])
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, append(raw, '\n'), 0o644)
}

// ThisMachine describes the machine the process runs on (Linux: /proc/cpuinfo, /proc/meminfo).
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil && kb > 0 {
		m.MemTotal = fmt.Sprintf("%.1f GiB", kb/(1<<20))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file, "" when absent.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// PeakRSS returns a process's peak resident set size in bytes (VmHWM in /proc/<pid>/status).
func PeakRSS(pid int) (int64, error) {
	v := procField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("VmHWM of process %d: %q", pid, v)
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	return kb << 10, err
}

// ResetPeakRSS sets a process's peak resident set size (VmHWM) back to what it holds now, so
// that PeakRSS then gives the peak of what follows ("5" in /proc/<pid>/clear_refs, Linux's
// proc(5)): one worker's peak for each of several rebuilds.
func ResetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// CPUTime returns the CPU time (user + system) a process has used so far
// (/proc/<pid>/stat, in clock ticks of 1/100 s as on every Linux this runs on).
func CPUTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after its closing parenthesis do not.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Percentile returns the p-th percentile (0..100) of sorted values by the nearest-rank method;
// 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Bracketed compares samples taken between baseline samples, as on a machine whose speed
// drifts: around[i] was taken just before samples[i] and around[i+1] just after it. It returns
// each sample over the mean of the two, and the median of those ratios; nil and 0 unless
// around holds one more than samples.
func Bracketed(samples, around []float64) (ratios []float64, median float64) {
	if len(samples) == 0 || len(around) != len(samples)+1 {
		return nil, 0
	}
	for i, x := range samples {
		ratios = append(ratios, x/((around[i]+around[i+1])/2))
	}
	return ratios, Median(ratios)
}

// Median returns the median of xs (the mean of the middle two of an even number; 0 of none).
func Median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 1:
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// SignTest is the two-sided p-value of an exact sign test: the chance that a fair coin, tossed
// n times, comes up heads at least as unevenly as wins against n-wins. It says how much k of n
// pairs going one way means: 5 of 7 happens by chance 45% of the time, 7 of 7 1.6%.
func SignTest(wins, n int) float64 {
	if n <= 0 || wins < 0 || wins > n {
		return 1
	}
	k := max(wins, n-wins)
	// P(X >= k) for X ~ Binomial(n, 1/2): the sum of C(n, i) for i >= k, over 2^n.
	tail, c := 0.0, 1.0 // c is C(n, i), from C(n, n) = 1 down
	for i := n; i >= k; i-- {
		tail += c
		c = c * float64(i) / float64(n-i+1)
	}
	return min(1, 2*tail/math.Pow(2, float64(n)))
}
