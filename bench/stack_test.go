package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/erpsync/erpsync/erp"
	"github.com/erpsync/erpsync/erpsim"
	"github.com/erpsync/erpsync/erpsim/generate"
	"github.com/erpsync/erpsync/erpsim/store"
	"github.com/erpsync/erpsync/internal/testenv"
	"github.com/erpsync/erpsync/workflows"
)

// The benchmark's files outside its temporary directory, relative to this package.
const (
	resultsDir = "../bench-results"
	// catalogDir caches generated catalogs across runs (gitignored, kept by make clean).
	catalogDir = "../var/bench-catalogs"
	// namespace isolates the benchmark's workflows: the starter's workflow IDs are fixed
	// ("product-import-rebuild"), so in the default namespace they could meet someone else's.
	namespace = "erpsync-bench"
)

// companyLanguages are the generated companies' own languages (the worker gets them too).
var companyLanguages = map[string]string{"usmf": "en-us", "demf": "de", "gbsi": "en-gb"}

// catalog is the benchmark's data set: masters with variants, three translation languages,
// trade agreements (the generator's defaults), stamped long before now so that an update run
// re-reading its overlap window finds nothing of it.
func catalog(products int) generate.Config {
	c := generate.Defaults()
	c.Products = products
	c.Customers = max(products/5, 30)
	c.SalesReps = max(products/1000, 30)
	c.Languages = []string{"en-us", "de", "nl"}
	c.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return c
}

// suite is one benchmark run's services and binaries.
type suite struct {
	b        *testing.B
	es       *elasticsearch.Client
	temporal client.Client
	prefix   string
	queue    string
	bins     struct{ worker, starter, erpsim string }
	tmp      string
	// pipeline are the CPUs of the simulator, the worker and the rest when Elasticsearch has
	// CPUs of its own (pinCPUs); nil when every process shares every CPU.
	pipeline CPUSet
	// esPID is the process of the Elasticsearch node pinCPUs gave CPUs of its own; 0 when it
	// gave none.
	esPID int
}

func newSuite(b *testing.B) *suite {
	s := &suite{b: b, tmp: b.TempDir()}
	s.es = testenv.Elasticsearch(b)
	s.prefix = testenv.Prefix(b, s.es)
	s.queue = testenv.TaskQueue(b)
	s.registerNamespace()
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(b), Namespace: namespace})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	s.temporal = c
	s.terminateLeftovers()
	cmd := exec.Command("go", "build", "-o", s.tmp+"/", "../worker", "../starter", "../cmd/erpsim")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("build worker, starter, erpsim: %v", err)
	}
	s.bins.worker, s.bins.starter, s.bins.erpsim = filepath.Join(s.tmp, "worker"), filepath.Join(s.tmp, "starter"), filepath.Join(s.tmp, "erpsim")
	return s
}

// registerNamespace creates the benchmark's namespace once and waits until it serves calls.
func (s *suite) registerNamespace() {
	nc, err := client.NewNamespaceClient(client.Options{HostPort: testenv.TemporalAddress(s.b)})
	if err != nil {
		s.b.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		s.b.Fatalf("register namespace %s: %v", namespace, err)
	}
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(s.b), Namespace: namespace})
	if err != nil {
		s.b.Fatal(err)
	}
	defer c.Close()
	for { // a new namespace reaches the frontend's cache within seconds
		_, err := c.DescribeTaskQueue(ctx, "ready", enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			s.b.Fatalf("namespace %s does not answer: %v", namespace, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// terminateLeftovers ends the workflows a benchmark that was killed left running in the
// benchmark's namespace. Their IDs and task queue are the ones this run uses, so its worker
// would run them on against their dead simulator, and its starter would meet them.
func (s *suite) terminateLeftovers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ended, err := testenv.TerminateRunning(ctx, s.temporal, namespace, "ExecutionStatus='Running'", "left running by a benchmark that was stopped")
	for _, e := range ended {
		s.logf("terminated %s (run %s), left running by a benchmark that was stopped", e.GetWorkflowId(), e.GetRunId())
	}
	if err != nil {
		s.b.Fatalf("end the workflows left running in %s: %v", namespace, err)
	}
}

// catalogFile returns the path of a generated catalog, generating it into the cache when it is
// not there yet (into a temporary name, so an interrupted run leaves nothing half-made). The
// name carries a hash of the generator's and the simulator store's source: a catalog made by
// other code (another schema, other rows) is made again, not served.
func catalogFile(b *testing.B, cat generate.Config) string {
	path := filepath.Join(catalogDir, fmt.Sprintf("catalog-%s-%dp-%dc-seed%d.db", generatorHash(b), cat.Products, cat.Customers, cat.Seed))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(catalogDir, 0o755); err != nil {
		b.Fatal(err)
	}
	tmp := path + ".partial"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(tmp + suffix)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, tmp)
	if err != nil {
		b.Fatal(err)
	}
	stats, err := generate.Run(ctx, st, cat)
	if err != nil {
		b.Fatalf("generate %d products: %v", cat.Products, err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s: %d records in %s", path, stats.Total(), stats.Took.Round(time.Second))
	return path
}

// generatorHash is a short hash of the non-test Go source of erpsim/generate and erpsim/store,
// which decide what a generated catalog holds.
func generatorHash(b *testing.B) string {
	h := sha256.New()
	for _, dir := range []string{"../erpsim/generate", "../erpsim/store"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			b.Fatalf("the generator's source in %s: %v", dir, err)
		}
		slices.Sort(files)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(src))
			h.Write(src)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// logf logs a line of the run and prints it at once on the standard error, where the workers'
// and the simulators' logs go too. A benchmark's own log shows only when it ends, and testing
// trims it to its first 10 lines: a run of BenchmarkImport logs about 30.
func (s *suite) logf(format string, args ...any) {
	s.b.Helper()
	line := fmt.Sprintf(format, args...)
	s.b.Log(line)
	fmt.Fprintln(os.Stderr, "bench:", line)
}

// sim is a simulator process serving a private copy of a cached catalog.
type sim struct {
	url string
	cmd *exec.Cmd
}

// startSim copies the catalog (runs edit it) and serves it from an erpsim process without its
// change driver; the driver is turned on later through the admin API. flags go to erpsim serve.
func (s *suite) startSim(cat generate.Config, flags ...string) *sim {
	return s.startSimFrom(s.bins.erpsim, "sim", nil, cat, flags...)
}

// startSimFrom starts the simulator binary bin, with env added to the environment, on a copy of
// the catalog of its own, named after name: two simulators of one run serve two files.
func (s *suite) startSimFrom(bin, name string, env []string, cat generate.Config, flags ...string) *sim {
	src := catalogFile(s.b, cat)
	db := filepath.Join(s.tmp, fmt.Sprintf("%s-%dp.db", name, cat.Products))
	if err := copyFile(src, db); err != nil {
		s.b.Fatal(err)
	}
	addr := freeAddr(s.b)
	// The simulator runs its GC at 400 unless GOGC is set (cmd/erpsim), as the worker does.
	args := append([]string{"serve", "--db", db, "--listen", addr, "--change-rate", "0", "--seed", fmt.Sprint(cat.Seed), "--log-level", "warn"}, flags...)
	cmd := s.start("erpsim", bin, env, args...)
	u := "http://" + addr
	waitHTTP(s.b, u+"/healthz", 2*time.Minute)
	return &sim{url: u, cmd: cmd}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHTTP waits until u answers 200.
func waitHTTP(b *testing.B, u string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		res, err := http.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s does not answer within %s: %v", u, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start starts a process whose output goes to stderr; it is stopped (SIGTERM, then SIGKILL)
// when the benchmark ends, or earlier with stop.
func (s *suite) start(name, bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		s.b.Fatalf("start %s: %v", name, err)
	}
	s.b.Cleanup(func() { stop(cmd) })
	return cmd
}

// stop ends a process started by start and waits for it; stopping it again does nothing.
func stop(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// worker is a worker process.
type worker struct {
	cmd       *exec.Cmd
	pprofAddr string
}

// startWorker starts a worker process on the suite's task queue reading sim into the index
// prefix. The environment's ERPSYNC_* and ERP_* tuning settings pass through, then extra; the
// safety lag is 2 s unless the environment sets one (see settings).
func (s *suite) startWorker(sm *sim, prefix string, extra ...string) *worker {
	return s.startWorkerFrom(s.bins.worker, sm, prefix, extra...)
}

// startWorkerFrom starts the worker binary bin, as startWorker does.
func (s *suite) startWorkerFrom(bin string, sm *sim, prefix string, extra ...string) *worker {
	var langs []string
	for c, l := range companyLanguages {
		langs = append(langs, c+"="+l)
	}
	w := &worker{}
	env := []string{
		"TEMPORAL_NAMESPACE=" + namespace,
		"ERPSYNC_TASK_QUEUE=" + s.queue,
		"ERPSYNC_INDEX_PREFIX=" + prefix,
		"ERP_URL=" + sm.url,
		"ERP_CLIENT_ID=" + erpsim.DefaultClientID,
		"ERP_CLIENT_SECRET=" + erpsim.DefaultClientSecret,
		"ERPSYNC_COMPANY_LANGUAGES=" + strings.Join(langs, ","),
		"ERPSYNC_SAFETY_LAG=" + settings()["ERPSYNC_SAFETY_LAG"],
		"ERPSYNC_LOG_LEVEL=warn",
		"ERPSYNC_METRICS_ADDR=" + freeAddr(s.b),
	}
	if os.Getenv("BENCH_PPROF") != "" {
		w.pprofAddr = freeAddr(s.b)
		env = append(env, "ERPSYNC_PPROF_ADDR="+w.pprofAddr)
	}
	env = append(env, extra...)
	w.cmd = s.start("worker", bin, env, "--log-format", "console")
	s.awaitPollers(w.cmd.Process.Pid)
	return w
}

// awaitPollers waits until the worker process pid polls the task queue for workflow and
// activity tasks, so that no run is timed while the worker still starts.
func (s *suite) awaitPollers(pid int) {
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for _, tt := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		for polling := false; !polling; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				s.b.Fatalf("worker %d does not poll %s within 2 minutes", pid, s.queue)
			}
			d, err := s.temporal.DescribeTaskQueue(ctx, s.queue, tt)
			if err != nil {
				s.b.Fatal(err)
			}
			for _, p := range d.GetPollers() {
				polling = polling || strings.HasPrefix(p.GetIdentity(), fmt.Sprintf("%d@", pid))
			}
		}
	}
}

// settings are the tuning settings in effect: the environment's, and the benchmark's default
// safety lag.
func settings() map[string]string {
	m := map[string]string{"ERPSYNC_SAFETY_LAG": "2s"}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(k, "ERPSYNC_") || strings.HasPrefix(k, "ERP_") || strings.HasPrefix(k, "BENCH_")) &&
			k != "ERPSYNC_TASK_QUEUE" && k != "ERPSYNC_INDEX_PREFIX" && !strings.Contains(k, "SECRET") {
			m[k] = v
		}
	}
	return m
}

// starter runs the starter binary in the benchmark's namespace, queue and index prefix and
// returns its standard output.
func (s *suite) starter(prefix string, args ...string) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bins.starter, args...)
	cmd.Env = append(os.Environ(), "TEMPORAL_NAMESPACE="+namespace, "ERPSYNC_TASK_QUEUE="+s.queue,
		"ERPSYNC_INDEX_PREFIX="+prefix, "ERPSYNC_SCHEDULE_PREFIX="+s.queue+"-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.b.Fatalf("starter %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// runImport runs an import of products with the starter (and its extra flags) and returns its
// result and wall time.
func (s *suite) runImport(prefix, mode string, extra ...string) (workflows.ImportResult, time.Duration) {
	start := time.Now()
	out := s.starter(prefix, append([]string{"run", "products", "--mode", mode, "--wait", "--json"}, extra...)...)
	took := time.Since(start)
	var res workflows.ImportResult
	if err := json.Unmarshal(out, &res); err != nil || res.Of(erp.Products).Entity != erp.Products {
		s.b.Fatalf("starter run products --mode %s: %v\n%s", mode, err, out)
	}
	return res, took
}

// orchestration reads the history of the last execution of workflow id, following
// continue-as-new back to its first run, and returns its wall time (first start to last close)
// and the time at least one of its activities executed (the union of their started ->
// completed spans: a partitioned rebuild runs several at once).
func (s *suite) orchestration(id string) (wall, inActivities time.Duration, runs, activities int) {
	var spans [][2]time.Time
	defer func() { inActivities = union(spans) }()
	ctx := context.Background()
	d, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		s.b.Fatal(err)
	}
	runID := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	var first, last time.Time
	for runID != "" && runs < 100_000 {
		runs++
		started := map[int64]time.Time{}
		var prev string
		it := s.temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				s.b.Fatal(err)
			}
			t := ev.GetEventTime().AsTime()
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				first = t
				prev = ev.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				started[ev.GetEventId()] = t
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				spans = append(spans, [2]time.Time{started[ev.GetActivityTaskCompletedEventAttributes().GetStartedEventId()], t})
				activities++
			}
			if runs == 1 && isClose(ev) {
				last = t
			}
		}
		runID = prev
	}
	return last.Sub(first), inActivities, runs, activities
}

// union returns the time covered by at least one of the spans.
func union(spans [][2]time.Time) time.Duration {
	slices.SortFunc(spans, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	var total time.Duration
	var end time.Time
	for _, sp := range spans {
		if sp[0].After(end) {
			total += sp[1].Sub(sp[0])
			end = sp[1]
		} else if sp[1].After(end) {
			total += sp[1].Sub(end)
			end = sp[1]
		}
	}
	return total
}

func isClose(ev *historypb.HistoryEvent) bool {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return true
	}
	return false
}

// erpHTTP talks OData to the simulator for edits and reads by key.
type erpHTTP struct {
	url, token string
	hc         *http.Client
}

func newERPHTTP(b *testing.B, base string) *erpHTTP {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {erpsim.DefaultClientID}, "client_secret": {erpsim.DefaultClientSecret}}
	res, err := http.PostForm(base+"/oauth2/token", form)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("simulator token: %s %v", res.Status, err)
	}
	return &erpHTTP{url: base, token: tok.AccessToken, hc: &http.Client{Timeout: 30 * time.Second}}
}

// do sends a request with a JSON body (when not nil) and decodes a JSON answer into out (when
// not nil); it returns the status.
func (e *erpHTTP) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %s %.300s", method, path, res.Status, raw)
	}
	if out != nil {
		return res.StatusCode, json.Unmarshal(raw, out)
	}
	return res.StatusCode, nil
}

// setLatency makes the simulator answer every OData request d later (its latency fault).
func (e *erpHTTP) setLatency(b *testing.B, d time.Duration) {
	var f erpsim.Faults
	if _, err := e.do(context.Background(), http.MethodGet, "/admin/faults", nil, &f); err != nil {
		b.Fatal(err)
	}
	f.Latency = erpsim.Duration(d)
	if _, err := e.do(context.Background(), http.MethodPut, "/admin/faults", f, nil); err != nil {
		b.Fatal(err)
	}
}

// productPath is the OData path of one released product.
func productPath(company, item string) string {
	return fmt.Sprintf("/data/ReleasedProductsV2(dataAreaId='%s',ItemNumber='%s')", company, strings.ReplaceAll(item, "'", "''"))
}

// editProduct renames a product and returns the ModifiedDateTime the ERP stamped the edit with.
func (e *erpHTTP) editProduct(ctx context.Context, company, item, name string) (time.Time, error) {
	if _, err := e.do(ctx, http.MethodPatch, productPath(company, item), map[string]any{"ProductName": name}, nil); err != nil {
		return time.Time{}, err
	}
	var rec struct {
		Modified time.Time `json:"ModifiedDateTime"`
	}
	_, err := e.do(ctx, http.MethodGet, productPath(company, item)+"?cross-company=true&$select=ModifiedDateTime", nil, &rec)
	return rec.Modified, err
}

// esWork is a snapshot of what Elasticsearch's node has done so far, from its node stats; the
// difference of two says where its CPU went between them. Node stats keep the counts of deleted
// indexes' shards, so generations removed in between still count.
type esWork struct {
	cpu, indexing, merges, refresh, gc time.Duration
	writeTasks                         int64 // the write thread pool's completed tasks (about 3 a bulk request)
}

func (w esWork) sub(o esWork) esWork {
	return esWork{cpu: w.cpu - o.cpu, indexing: w.indexing - o.indexing, merges: w.merges - o.merges, refresh: w.refresh - o.refresh,
		gc: w.gc - o.gc, writeTasks: w.writeTasks - o.writeTasks}
}

// String sums the work up for a report's note.
func (w esWork) String() string {
	return fmt.Sprintf("Elasticsearch CPU %.1f s: indexing %.1f s, merges %.1f s, refresh %.1f s, GC %.1f s, %d write-pool tasks",
		w.cpu.Seconds(), w.indexing.Seconds(), w.merges.Seconds(), w.refresh.Seconds(), w.gc.Seconds(), w.writeTasks)
}

// esWork returns Elasticsearch's work so far.
func (s *suite) esWork() esWork {
	res, err := s.es.Nodes.Stats(s.es.Nodes.Stats.WithMetric("process,indices,jvm,thread_pool"),
		s.es.Nodes.Stats.WithFilterPath("nodes.*.process.cpu.total_in_millis", "nodes.*.indices.indexing.index_time_in_millis",
			"nodes.*.indices.merges.total_time_in_millis", "nodes.*.indices.refresh.total_time_in_millis",
			"nodes.*.jvm.gc.collectors.*.collection_time_in_millis", "nodes.*.thread_pool.write.completed"))
	if err != nil {
		s.b.Fatal(err)
	}
	defer res.Body.Close()
	type millis struct {
		Millis int64 `json:"total_in_millis"`
	}
	var out struct {
		Nodes map[string]struct {
			Process struct {
				CPU millis `json:"cpu"`
			} `json:"process"`
			Indices struct {
				Indexing struct {
					Millis int64 `json:"index_time_in_millis"`
				} `json:"indexing"`
				Merges struct {
					Millis int64 `json:"total_time_in_millis"`
				} `json:"merges"`
				Refresh struct {
					Millis int64 `json:"total_time_in_millis"`
				} `json:"refresh"`
			} `json:"indices"`
			JVM struct {
				GC struct {
					Collectors map[string]struct {
						Millis int64 `json:"collection_time_in_millis"`
					} `json:"collectors"`
				} `json:"gc"`
			} `json:"jvm"`
			ThreadPool struct {
				Write struct {
					Completed int64 `json:"completed"`
				} `json:"write"`
			} `json:"thread_pool"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		s.b.Fatal(err)
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	var w esWork
	for _, n := range out.Nodes {
		w.cpu += ms(n.Process.CPU.Millis)
		w.indexing += ms(n.Indices.Indexing.Millis)
		w.merges += ms(n.Indices.Merges.Millis)
		w.refresh += ms(n.Indices.Refresh.Millis)
		for _, c := range n.JVM.GC.Collectors {
			w.gc += ms(c.Millis)
		}
		w.writeTasks += n.ThreadPool.Write.Completed
	}
	return w
}

// busyPeriod is how often traceBusy samples how busy Elasticsearch and the pipeline's CPUs are.
const busyPeriod = 500 * time.Millisecond

// traceBusy starts tracing how busy Elasticsearch and the pipeline's CPUs are every busyPeriod,
// when pinCPUs gave them CPUs of their own, and returns what stops the traces and logs them:
// where a rebuild leaves Elasticsearch idle, and whether CPU 1 was the reason.
func (s *suite) traceBusy() func() {
	es := func() []float64 { return nil }
	if s.esPID > 0 {
		es = TraceBusy(s.esPID, busyPeriod)
	}
	pipeline := s.pipeline.TraceBusy(busyPeriod)
	return func() {
		if busy := es(); len(busy) > 0 {
			s.logf("Elasticsearch busy, every %s (%%): %s", busyPeriod, busyText(busy))
		}
		if busy := pipeline(); len(s.pipeline) > 0 {
			s.logf("CPU %s busy, every %s (%%): %s", s.pipeline, busyPeriod, busyText(busy))
		}
	}
}

// secondsText writes seconds with one decimal, for join: "12.3".
func secondsText(x float64) string { return fmt.Sprintf("%.1f", x) }

// busyText writes fractions as whole percentages: "12 97 100 64".
func busyText(busy []float64) string {
	parts := make([]string, len(busy))
	for i, x := range busy {
		parts[i] = strconv.Itoa(int(100*x + 0.5))
	}
	return strings.Join(parts, " ")
}
