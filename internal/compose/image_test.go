package compose

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oneShot reports whether s is a job that runs to its end (a setup step), not a service.
func oneShot(s service) bool { return strings.HasPrefix(s.Restart, "on-failure") || s.Restart == "no" }

// TestTemporalWithoutAutoSetup: Temporal runs from temporalio/server at the version
// versions.env pins, after a temporalio/admin-tools job set up its schema; the deprecated
// temporalio/auto-setup image is used nowhere. A job of the same image creates the namespace
// and erpsync's search attributes before the worker and the schedules start.
func TestTemporalWithoutAutoSetup(t *testing.T) {
	c, _ := load(t)
	v := versions(t, repoRoot(t))
	for name, s := range c.Services {
		if strings.Contains(s.Image, "auto-setup") {
			t.Errorf("%s runs %s: temporalio/auto-setup is deprecated and no longer built", name, s.Image)
		}
	}
	server := c.Services["temporal"]
	if server.Image != "temporalio/server:"+v["TEMPORAL_SERVER_VERSION"] {
		t.Errorf("temporal runs %q, want temporalio/server:%s", server.Image, v["TEMPORAL_SERVER_VERSION"])
	}
	var schema, setup string
	for name, s := range c.Services {
		if !strings.HasPrefix(s.Image, "temporalio/admin-tools:") {
			continue
		}
		if s.Image != "temporalio/admin-tools:"+v["TEMPORAL_ADMIN_TOOLS_VERSION"] {
			t.Errorf("%s runs %q; versions.env pins admin-tools %s", name, s.Image, v["TEMPORAL_ADMIN_TOOLS_VERSION"])
		}
		if !oneShot(s) {
			t.Errorf("%s: a setup job restarts on failure only, got restart %q", name, s.Restart)
		}
		switch {
		case slices.Contains(s.Entrypoint, "schema"):
			schema = name
		case slices.Contains(s.Entrypoint, "namespace"):
			setup = name
		}
	}
	if schema == "" || server.DependsOn[schema].Condition != "service_completed_successfully" {
		t.Errorf("temporal depends on %v; want it started after an admin-tools schema job completed (%q)", server.DependsOn, schema)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "compose-temporal.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"temporal-sql-tool", "update-schema", "temporal_visibility", "namespace create", "search-attribute create",
		"ErpsyncEntity=KeywordList", "ErpsyncOutcome=Keyword", "ErpsyncRecordsWritten=Int", "ErpsyncDeadLettered=Int", "ErpsyncMode=Keyword"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("scripts/compose-temporal.sh lacks %q", want)
		}
	}
	for _, svc := range []string{"worker", "schedules"} {
		if setup == "" || c.Services[svc].DependsOn[setup].Condition != "service_completed_successfully" {
			t.Errorf("%s depends on %v; want it started after the namespace job (%q) completed", svc, c.Services[svc].DependsOn, setup)
		}
	}
}

// TestEveryServiceHasAHealthcheck: every long-running service has a healthcheck (one-shot
// jobs restart on failure instead); the services of erpsync's image check themselves with its
// probe binary (the image has no shell or curl), the worker its /readyz.
func TestEveryServiceHasAHealthcheck(t *testing.T) {
	c, _ := load(t)
	for name, s := range c.Services {
		if oneShot(s) {
			continue
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", name)
			continue
		}
		if s.Build != nil && (s.Healthcheck.Test[0] != "CMD" || s.Healthcheck.Test[1] != "probe") {
			t.Errorf("%s: healthcheck %q; erpsync's image has no shell: use [\"CMD\", \"probe\", URL]", name, s.Healthcheck.Test)
		}
	}
	if hc := c.Services["worker"].Healthcheck; hc == nil || !strings.HasSuffix(hc.Test[len(hc.Test)-1], ":9464/readyz") {
		t.Errorf("worker healthcheck %v, want its /readyz", hc)
	}
}

// TestWorkerStopsGracefully: Docker waits longer than the worker's own stop timeout (running
// activities finish their page) before it kills the worker; its default is 10 s.
func TestWorkerStopsGracefully(t *testing.T) {
	c, _ := load(t)
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "worker", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`WorkerStopTimeout:\s*(\d+)\s*\*\s*time\.Second`).FindSubmatch(src)
	if m == nil {
		t.Fatal("worker/main.go: no WorkerStopTimeout: N * time.Second")
	}
	n, _ := strconv.Atoi(string(m[1]))
	stop := time.Duration(n) * time.Second
	grace, err := time.ParseDuration(c.Services["worker"].StopGracePeriod)
	if err != nil || grace <= stop {
		t.Errorf("worker stop_grace_period %q (%v); want longer than its stop timeout %s", c.Services["worker"].StopGracePeriod, err, stop)
	}
}

// TestWorkerMetricsOnTheNetwork: the worker listens for metrics and probes on every interface
// of its container (127.0.0.1 there is unreachable from Prometheus), exposed on the compose
// network, and not published.
func TestWorkerMetricsOnTheNetwork(t *testing.T) {
	c, _ := load(t)
	w := c.Services["worker"]
	addr := w.Environment["ERPSYNC_METRICS_ADDR"]
	host, port, ok := strings.Cut(addr, ":")
	if !ok || (host != "0.0.0.0" && host != "") {
		t.Errorf("worker ERPSYNC_METRICS_ADDR=%q; want 0.0.0.0:PORT", addr)
	}
	if !slices.Contains(w.Expose, port) || len(w.Ports) != 0 {
		t.Errorf("worker expose %v, ports %v; want %s exposed on the network and nothing published", w.Expose, w.Ports, port)
	}
	prom, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "prometheus.yml"))
	if err != nil || !strings.Contains(string(prom), "worker:"+port) {
		t.Errorf("deploy/prometheus/prometheus.yml does not scrape worker:%s (%v)", port, err)
	}
}

// TestImage: the image is built from a context without git history, downloads, data or
// secrets (.dockerignore), runs as a non-root user on a distroless base, and the services run
// its binaries directly (there is no shell in it).
func TestImage(t *testing.T) {
	root := repoRoot(t)
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v (without it the build sends .git and var/, gigabytes)", err)
	}
	lines := strings.Fields(string(ignore))
	for _, want := range []string{".git", "var", "bin", ".env", "bench-results"} {
		if !slices.Contains(lines, want) && !slices.Contains(lines, "/"+want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	df, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllSubmatch(df, -1)
	if len(froms) == 0 || !strings.HasPrefix(string(froms[len(froms)-1][1]), "gcr.io/distroless/") {
		t.Errorf("the runtime stage is %q, want a distroless image", froms)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllSubmatch(df, -1)
	if len(users) == 0 {
		t.Fatal("the Dockerfile sets no USER: the image runs as root")
	}
	if u := strings.Split(string(users[len(users)-1][1]), ":")[0]; u == "root" || u == "0" {
		t.Errorf("the image runs as %s", u)
	}
	if !strings.Contains(string(df), "internal/buildinfo.Version") {
		t.Error("the Dockerfile does not set the version --version shows")
	}
	c, _ := load(t)
	for name, s := range c.Services {
		if s.Build != nil && len(s.Command) > 0 && (s.Command[0] == "sh" || s.Command[0] == "bash") {
			t.Errorf("%s runs %v: erpsync's image has no shell", name, s.Command)
		}
	}
}
