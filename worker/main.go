// Command worker runs erpsync's import workflows and activities on a Temporal task queue: it
// reads the ERP, writes Elasticsearch and keeps the sync state, until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/alert"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/health"
	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/metrics"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/workflows"
)

const usage = `worker runs erpsync's Product import and Customer import on Temporal.

It registers the ProductImport and CustomerImport workflows and their activities on a task
queue, reads the ERP over OData, and writes Elasticsearch. Run as many as you like: Temporal
spreads the work, and a crashed worker's chunk resumes on another from its last heartbeat.

Configuration comes from the environment (flags override):
  TEMPORAL_ADDRESS        Temporal frontend (default 127.0.0.1:7233)
  TEMPORAL_NAMESPACE      namespace (default "default")
  ERPSYNC_TASK_QUEUE      task queue (default "erpsync")
  ELASTICSEARCH_URL       e.g. http://127.0.0.1:9200 (required), with ELASTICSEARCH_API_KEY (or _FILE) or
                          ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD, ELASTICSEARCH_CA_CERT
  ERPSYNC_INDEX_PREFIX    index prefix (default "erpsync")
  ERP_URL                 OData service root of the ERP, e.g. http://127.0.0.1:8088 (required)
  ERP_CLIENT_ID, ERP_CLIENT_SECRET, ERP_TOKEN_URL, ERP_SCOPE, ERP_COMPANIES, ERP_PAGE_SIZE
                          OAuth2 client credentials and reading options of the ERP
  ERPSYNC_SAFETY_LAG      a run reads up to its start minus this (default 30s)
  ERPSYNC_OVERLAP         an update run re-reads this much before the watermark (default 5m)
  ERPSYNC_PAGE_SIZE       ERP roots per page (default 1000)
  ERPSYNC_CHUNK_PAGES     pages per chunk activity (default 20)
  ERPSYNC_CHANGE_DETECTION  how update runs find changes: parent-stamps (an ERP add-on stamps
                          a record on every change below it and logs deletes; the default) or
                          child-stamps (stock D365: every collection by its own stamps; run
                          reconcile and audit on a schedule too, see README)
  ERPSYNC_COMPANY_LANGUAGES  language of each company's own product texts, e.g.
                          usmf=en-us,demf=de (default: read from the ERP's LegalEntities)
  ERPSYNC_LOG_LEVEL       debug, info, warn, error (default info)
  ERPSYNC_LOG_FORMAT      json or console (default json)
  ERPSYNC_METRICS_ADDR    Prometheus metrics at http://ADDR/metrics, probes at /healthz and
                          /readyz (default 127.0.0.1:9464)
  ERPSYNC_PPROF_ADDR      Go profiles at http://ADDR/debug/pprof/ (default: off)
  ERPSYNC_DEAD_LETTER_MAX_AGE  dead letters older than this are deleted at the end of each
                          run (default 720h, 30 days)
  ERPSYNC_INSTALLATION    this installation's name in alerts (default the index prefix)
  ERPSYNC_TEMPORAL_UI_URL the Temporal UI, for links to runs (default http://127.0.0.1:8233)
  ERPSYNC_ALERT_SMTP_ADDR host:port of an SMTP server: an e-mail when a run fails, ends with
                          dead letters or a reconcile refuses (default: no e-mail), with
  ERPSYNC_ALERT_EMAIL_FROM, ERPSYNC_ALERT_EMAIL_TO (comma-separated),
  ERPSYNC_ALERT_SMTP_USERNAME, ERPSYNC_ALERT_SMTP_PASSWORD (optional; STARTTLS when offered)
  ERPSYNC_ALERT_WEBHOOK_URL  the same alerts as a JSON POST (default: none)
  GOGC                    Go's GC target (default 400 in the worker)
  GOMEMLIMIT              Go's soft memory limit (default 256MiB in the worker)

Flags:
`

// Config is everything the worker needs; Load reads it and reports every problem at once.
type Config struct {
	TemporalAddress, Namespace, TaskQueue string
	IndexPrefix                           string
	Elasticsearch                         search.Config
	ERP                                   d365.Config
	Settings                              activities.Settings
	LogLevel, LogFormat                   string
	// MetricsAddr is where Prometheus scrapes /metrics.
	MetricsAddr string
	// PprofAddr, when set, serves net/http/pprof (for profiling imports; off by default).
	PprofAddr string
	// BulkWorkers and FlushBytes tune the bulk writer (0: search's defaults).
	BulkWorkers, FlushBytes int
	// Alerts are the channels of failure alerts (none: no alerts), with the installation's
	// name and the Temporal UI's URL for their links.
	Alerts alert.Notifier
}

func load(args []string) (Config, error) {
	c := Config{
		TemporalAddress: getenv("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		Namespace:       getenv("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:       getenv("ERPSYNC_TASK_QUEUE", workflows.TaskQueue),
		IndexPrefix:     getenv("ERPSYNC_INDEX_PREFIX", "erpsync"),
		Elasticsearch:   search.ConfigFromEnv(),
		ERP:             d365.ConfigFromEnv(),
		LogLevel:        getenv("ERPSYNC_LOG_LEVEL", "info"),
		LogFormat:       getenv("ERPSYNC_LOG_FORMAT", "json"),
		MetricsAddr:     getenv("ERPSYNC_METRICS_ADDR", "127.0.0.1:9464"),
		PprofAddr:       os.Getenv("ERPSYNC_PPROF_ADDR"),
	}
	var errs []error
	c.Settings.SafetyLag = envDuration("ERPSYNC_SAFETY_LAG", &errs)
	c.Settings.Overlap = envDuration("ERPSYNC_OVERLAP", &errs)
	c.Settings.ChunkPages = envInt("ERPSYNC_CHUNK_PAGES", &errs)
	c.Settings.PageSize = envInt("ERPSYNC_PAGE_SIZE", &errs)
	c.Settings.Document.CompanyLanguages = envMap("ERPSYNC_COMPANY_LANGUAGES", &errs)
	c.Settings.Detection = activities.Detection(os.Getenv("ERPSYNC_CHANGE_DETECTION"))
	c.BulkWorkers = envInt("ERPSYNC_BULK_WORKERS", &errs)
	c.FlushBytes = envInt("ERPSYNC_FLUSH_BYTES", &errs)
	c.ERP.Concurrency = envInt("ERP_CONCURRENCY", &errs)
	c.Settings.DeadLetterMaxAge = envDuration("ERPSYNC_DEAD_LETTER_MAX_AGE", &errs)
	c.Alerts = alertsFromEnv(c.IndexPrefix, &errs)

	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	fs.StringVar(&c.TemporalAddress, "temporal", c.TemporalAddress, "Temporal frontend address")
	fs.StringVar(&c.TaskQueue, "task-queue", c.TaskQueue, "task queue")
	fs.StringVar(&c.IndexPrefix, "index-prefix", c.IndexPrefix, "Elasticsearch index prefix")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: json or console")
	fs.StringVar(&c.MetricsAddr, "metrics", c.MetricsAddr, "address of the Prometheus /metrics endpoint")
	fs.StringVar(&c.PprofAddr, "pprof", c.PprofAddr, "address of net/http/pprof's /debug/pprof/ (empty: off)")
	fs.StringVar((*string)(&c.Settings.Detection), "change-detection", string(c.Settings.Detection), "parent-stamps or child-stamps")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := c.Elasticsearch.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.ERP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !c.Settings.Detection.Valid() {
		errs = append(errs, fmt.Errorf("change detection %q: want parent-stamps or child-stamps", c.Settings.Detection))
	}
	if c.TemporalAddress == "" {
		errs = append(errs, errors.New("TEMPORAL_ADDRESS is empty"))
	}
	return c, errors.Join(errs...)
}

// alertsFromEnv reads the alert channels; installation defaults to the index prefix.
func alertsFromEnv(prefix string, errs *[]error) alert.Notifier {
	n := alert.Notifier{Installation: getenv("ERPSYNC_INSTALLATION", prefix), UIURL: getenv("ERPSYNC_TEMPORAL_UI_URL", visibility.DefaultUIURL)}
	if addr := os.Getenv("ERPSYNC_ALERT_SMTP_ADDR"); addr != "" {
		e := &alert.Email{Addr: addr, From: os.Getenv("ERPSYNC_ALERT_EMAIL_FROM"),
			Username: os.Getenv("ERPSYNC_ALERT_SMTP_USERNAME"), Password: os.Getenv("ERPSYNC_ALERT_SMTP_PASSWORD")}
		for _, to := range strings.Split(os.Getenv("ERPSYNC_ALERT_EMAIL_TO"), ",") {
			if to = strings.TrimSpace(to); to != "" {
				e.To = append(e.To, to)
			}
		}
		if e.From == "" || len(e.To) == 0 {
			*errs = append(*errs, errors.New("ERPSYNC_ALERT_SMTP_ADDR is set: set ERPSYNC_ALERT_EMAIL_FROM and ERPSYNC_ALERT_EMAIL_TO too"))
		}
		n.Channels = append(n.Channels, e)
	}
	if u := os.Getenv("ERPSYNC_ALERT_WEBHOOK_URL"); u != "" {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			*errs = append(*errs, errors.New("ERPSYNC_ALERT_WEBHOOK_URL: want an http(s) URL"))
		}
		n.Channels = append(n.Channels, &alert.Webhook{URL: u})
	}
	return n
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envDuration(k string, errs *[]error) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		*errs = append(*errs, fmt.Errorf("%s=%q: want a duration such as 30s or 5m", k, v))
	}
	return d
}

func envInt(k string, errs *[]error) int {
	v := os.Getenv(k)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		*errs = append(*errs, fmt.Errorf("%s=%q: want a positive whole number", k, v))
	}
	return n
}

func envMap(k string, errs *[]error) map[string]string {
	v := os.Getenv(k)
	if v == "" {
		return nil
	}
	m := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || key == "" || val == "" {
			*errs = append(*errs, fmt.Errorf("%s=%q: want company=language pairs such as usmf=en-us,demf=de", k, v))
			return nil
		}
		m[strings.ToLower(key)] = val
	}
	return m
}

// pprofHandler serves net/http/pprof's handlers on a mux of their own.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func main() {
	if buildinfo.Asked(os.Args[1:]) {
		fmt.Println(buildinfo.String("worker"))
		return
	}
	cfg, err := load(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: configuration:\n%v\nRun worker --help for the settings.\n", err)
		os.Exit(2)
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is a few pages of records and documents (tens of MB), and the default
		// GC target (GOGC=100) collected it so often that GC took 9% of the worker's CPU in a
		// rebuild (make bench, pprof); 400 takes it to 4%, the heap still bounded by page and
		// bulk sizes. GOGC in the environment wins.
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// With GOGC=400 the peak was five times the live heap, and which page made the peak
		// varied: 230-335 MiB between runs (make bench, (6)). A soft limit makes the GC work
		// harder near it instead, so the peak stays flat whatever the catalog; a live heap
		// above it (much larger pages) only costs GC time. GOMEMLIMIT in the environment wins.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// defaultMemoryLimit is the worker's soft memory limit when GOMEMLIMIT is not set.
const defaultMemoryLimit = 256 << 20

func run(cfg Config) error {
	log, err := logging.New(cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	es, err := search.NewClient(cfg.Elasticsearch)
	if err != nil {
		return err
	}
	var opts []search.Option
	if cfg.BulkWorkers > 0 {
		opts = append(opts, search.WithBulkWorkers(cfg.BulkWorkers))
	}
	if cfg.FlushBytes > 0 {
		opts = append(opts, search.WithFlushBytes(cfg.FlushBytes))
	}
	index := search.New(es, cfg.IndexPrefix, opts...)
	setupCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = index.Setup(setupCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("set up indexes at %s: %w", cfg.Elasticsearch.URL, err)
	}
	source, err := d365.New(cfg.ERP)
	if err != nil {
		return err
	}

	m, err := metrics.New()
	if err != nil {
		return err
	}
	// /readyz: the Temporal worker started and Elasticsearch answered within 30 s (pinged
	// every 10 s); /healthz: the process answers.
	ready := health.NewReady(nil)
	ready.Require(readyWorker, 0)
	ready.Require(readyES, 30*time.Second)
	go pingElasticsearch(ctx, index, ready)
	metricsSrv := &http.Server{Addr: cfg.MetricsAddr, Handler: health.Handler(ready, m.Handler()), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := metricsSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", zap.Error(err))
		}
	}()
	defer func() { _ = metricsSrv.Close() }()
	if cfg.PprofAddr != "" {
		// The profiles are on their own listener, never beside the metrics that may be exposed.
		pprofSrv := &http.Server{Addr: cfg.PprofAddr, Handler: pprofHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := pprofSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("pprof server stopped", zap.Error(err))
			}
		}()
		defer func() { _ = pprofSrv.Close() }()
	}

	tc, err := client.DialContext(ctx, client.Options{HostPort: cfg.TemporalAddress, Namespace: cfg.Namespace,
		Logger: logging.Temporal(log), MetricsHandler: m.Temporal()})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()
	if err := searchAttributes(ctx, tc, cfg.Namespace, log); err != nil {
		return err
	}

	// Running activities get 30 s after SIGTERM to finish their page and heartbeat.
	w := worker.New(tc, cfg.TaskQueue, worker.Options{WorkerStopTimeout: 30 * time.Second})
	w.RegisterWorkflow(workflows.ProductImport) // registered as "ProductImport"
	w.RegisterWorkflow(workflows.CustomerImport)
	w.RegisterWorkflow(workflows.DeadLetterRetry)
	w.RegisterActivity(&activities.Import{Source: source, Index: index, Log: log, Settings: cfg.Settings, Metrics: m, Alerts: &cfg.Alerts})

	log.Info("worker starting", zap.String("temporal", cfg.TemporalAddress), zap.String("namespace", cfg.Namespace),
		zap.String("task_queue", cfg.TaskQueue), zap.String("elasticsearch", cfg.Elasticsearch.URL),
		zap.String("erp", cfg.ERP.BaseURL), zap.String("index_prefix", cfg.IndexPrefix),
		zap.String("metrics", "http://"+cfg.MetricsAddr+"/metrics"))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	ready.OK(readyWorker)
	<-ctx.Done()
	log.Info("worker stopping: finishing running activities")
	ready.Fail(readyWorker, errors.New("stopping"))
	w.Stop()
	return nil
}

// searchAttributes makes sure the namespace has erpsync's search attributes, registering the
// missing ones where the server allows it (a dev or self-hosted server): an import that sets an
// unknown attribute would fail every workflow task.
// When the server will not even list them (a key without that permission), it warns and goes
// on: the imports' workflow tasks will say what is missing.
func searchAttributes(ctx context.Context, tc client.Client, namespace string, log *zap.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	missing, err := visibility.Missing(ctx, tc, namespace)
	if errors.Is(err, visibility.ErrCannotList) {
		log.Warn("cannot check erpsync's search attributes; make sure they exist:\n"+visibility.HowToRegister(namespace), zap.Error(err))
		return nil
	}
	if err != nil || len(missing) == 0 {
		return err
	}
	if err := visibility.Register(ctx, tc, namespace); err != nil {
		return fmt.Errorf("namespace %s lacks erpsync's search attributes %s and they cannot be added from here (%w); add them:\n%s",
			namespace, strings.Join(missing, ", "), err, visibility.HowToRegister(namespace))
	}
	return nil
}

// The worker's readiness conditions (/readyz).
const (
	readyWorker = "temporal worker"
	readyES     = "elasticsearch"
)

// pingElasticsearch asks Elasticsearch for its health every 10 s until ctx ends and records
// the answers in ready.
func pingElasticsearch(ctx context.Context, index *search.Index, ready *health.Ready) {
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := index.Ping(pctx)
		cancel()
		if err == nil {
			ready.OK(readyES)
		} else {
			ready.Fail(readyES, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}
