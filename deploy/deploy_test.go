package deploy

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/metrics"
)

const installPromtool = "promtool not found: install it with `apt-get install prometheus` (Debian's Prometheus package has promtool; .ci/run installs it)"

// TestAlertRules runs `promtool check rules` and `promtool test rules`: each alert fires when
// it should and resolves when it should (prometheus/alerts_test.yml).
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal(installPromtool)
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// sdkTimers and sdkCounters are the Temporal SDK's metrics the dashboard shows, by the names in
// go.temporal.io/sdk/internal/common/metrics/constants.go; the worker exports timers with
// _seconds and counters with _total.
var (
	sdkTimers   = []string{"temporal_activity_execution_latency", "temporal_workflow_task_execution_latency", "temporal_activity_schedule_to_start_latency"}
	sdkCounters = []string{"temporal_activity_execution_failed"}
)

// scrape returns what the worker's metrics serve after one sample of each metric, and the names
// of the series it exports (a histogram's _bucket, _sum and _count included).
func scrape(t *testing.T) (string, map[string]bool) {
	t.Helper()
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sdkTimers {
		m.Temporal().Timer(n).Record(1500 * time.Millisecond)
	}
	for _, n := range sdkCounters {
		m.Temporal().Counter(n).Inc(1)
	}
	m.Records("products", "dead_lettered", 1)
	m.Chunk("products", time.Second)
	m.Watermark("products", time.Now())
	m.Run("ProductImport", "update", "failed")
	m.Expired(1)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	names := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" {
				names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
			}
		}
	}
	return string(raw), names
}

var metricName = regexp.MustCompile(`\b(?:erpsync|temporal)_[a-z_]+\b`)

// queries returns every PromQL expression of the rules and of the dashboard.
func queries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	raw, err := os.ReadFile(filepath.Join("prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["rule "+r.Alert+r.Record] = r.Expr
		}
	}
	for _, p := range dashboard(t).Panels {
		for _, tg := range p.Targets {
			out["panel "+p.Title+" "+tg.RefID] = tg.Expr
		}
	}
	return out
}

type panel struct {
	Title       string `json:"title"`
	Type        string `json:"type"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func dashboard(t *testing.T) struct {
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
} {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("grafana", "erpsync.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("grafana/erpsync.json: %v", err)
	}
	return d
}

// TestRulesAndDashboardUseExportedMetrics: every metric a rule or a panel queries is one the
// worker exports (a renamed metric would leave an alert silent and a panel empty).
func TestRulesAndDashboardUseExportedMetrics(t *testing.T) {
	_, exported := scrape(t)
	qs := queries(t)
	if len(qs) < 10 {
		t.Fatalf("only %d queries found", len(qs))
	}
	for where, q := range qs {
		for _, name := range metricName.FindAllString(q, -1) {
			if !exported[name] {
				t.Errorf("%s queries %s, which the worker does not export", where, name)
			}
		}
	}
}

// TestLatencyPanelsShowSubSecondBuckets: the dashboard's latency panels read histograms whose
// buckets resolve below a second, and a 1.5 s latency lands between 1 and 2 s.
func TestLatencyPanelsShowSubSecondBuckets(t *testing.T) {
	body, _ := scrape(t)
	bucket := regexp.MustCompile(`(?m)^(\w+)_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$`)
	bounds := map[string][]float64{}
	count := map[string]map[float64]string{}
	for _, m := range bucket.FindAllStringSubmatch(body, -1) {
		le, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue // +Inf
		}
		bounds[m[1]] = append(bounds[m[1]], le)
		if count[m[1]] == nil {
			count[m[1]] = map[float64]string{}
		}
		count[m[1]][le] = m[3]
	}
	latency := 0
	for _, p := range dashboard(t).Panels {
		if p.FieldConfig.Defaults.Unit != "s" {
			continue
		}
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				h, ok := strings.CutSuffix(name, "_bucket")
				if !ok {
					continue
				}
				latency++
				sub := 0
				for _, b := range bounds[h] {
					if b < 1 {
						sub++
					}
				}
				if sub < 5 {
					t.Errorf("panel %q: %s has %d buckets under a second (%v), want at least 5", p.Title, h, sub, bounds[h])
				}
				if strings.HasPrefix(h, "temporal_") && (count[h][1] != "0" || count[h][2] != "1") {
					t.Errorf("panel %q: a 1.5 s sample of %s is not between le=1 (%s) and le=2 (%s)", p.Title, h, count[h][1], count[h][2])
				}
			}
		}
	}
	if latency < 5 {
		t.Fatalf("%d latency queries in the dashboard, want the SDK's and the chunks'", latency)
	}
}
