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
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/health"
	"github.com/erpsync/erpsync/internal/buildinfo"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/metrics"
	"github.com/erpsync/erpsync/search"
	"github.com/erpsync/erpsync/visibility"
	"github.com/erpsync/erpsync/webshop"
	"github.com/erpsync/erpsync/workflows"
)

const usage = `worker runs erpsync's Product import and Customer import on Temporal.

Usage:
  worker [flags]                 run: register the workflows and activities and work the task queue
  worker config print [flags]    the effective configuration, secrets redacted, as a config file
  worker config check [flags]    try every connection (ERP token and collections, Elasticsearch
                                 and its privileges, the Temporal namespace); exit 1 on a problem

It registers the ProductImport and CustomerImport workflows and their activities on a task
queue, reads the ERP over OData, and writes Elasticsearch. Run as many as you like: Temporal
spreads the work, and a crashed worker's chunk resumes on another from its last heartbeat.
GOGC (default 400 here) and GOMEMLIMIT (default here 192 MiB and 64 MiB per partition of
import.partitions: 704 MiB for the default 8) tune Go's memory as usual.

`

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
	cfg, set := config.ForWorker()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); set.PrintSettings(fs.Output()) }
	args, err := set.Parse(fs, os.Args[1:], config.OSEnv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if len(args) > 0 {
		os.Exit(configCommand(args, cfg, set, err, os.Stdout, os.Stderr))
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
		debug.SetMemoryLimit(memoryLimit(cfg.Import.Partitions))
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// memoryLimit is the worker's soft memory limit when GOMEMLIMIT is not set: 256 MiB for one
// stream of pages, and 64 MiB more for each other partition of a rebuild it may read at once
// (a page read ahead and two being written each). At 256 MiB, four partitions at once kept the
// heap at the limit and GC took a third of the worker's CPU: a rebuild of 100,000 products
// spent 11-13 CPU s in the worker, 8 with room (make bench, (2)).
func memoryLimit(partitions int) int64 { return (192 + 64*int64(max(partitions, 1))) << 20 }

func run(cfg *config.Config) error {
	log, err := logging.New(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}

	es, err := search.NewClient(cfg.Elasticsearch)
	if err != nil {
		return err
	}
	index := search.New(es, cfg.Index.Prefix, cfg.Index.Options()...)
	setupCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = index.Setup(setupCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("set up indexes at %s: %w", cfg.Elasticsearch.Where(), err)
	}
	source, err := d365.New(cfg.ERP)
	if err != nil {
		return err
	}
	checkCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = webshop.CheckTemplates(checkCtx, source, cfg.Webshops)
	cancel()
	if err != nil {
		return fmt.Errorf("webshops: %w", err)
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
	metricsSrv := &http.Server{Addr: cfg.Worker.MetricsAddr, Handler: health.Handler(ready, m.Handler()), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := metricsSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", zap.Error(err))
		}
	}()
	defer func() { _ = metricsSrv.Close() }()
	if cfg.Worker.PprofAddr != "" {
		// The profiles are on their own listener, never beside the metrics that may be exposed.
		pprofSrv := &http.Server{Addr: cfg.Worker.PprofAddr, Handler: pprofHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := pprofSrv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("pprof server stopped", zap.Error(err))
			}
		}()
		defer func() { _ = pprofSrv.Close() }()
	}

	topts, err := cfg.Temporal.ClientOptions()
	if err != nil {
		return err
	}
	topts.Logger, topts.MetricsHandler = logging.Temporal(log), m.Temporal()
	tc, err := client.DialContext(ctx, topts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.Temporal.Address, err)
	}
	defer tc.Close()
	if err := searchAttributes(ctx, tc, cfg.Temporal.Namespace, log); err != nil {
		return err
	}

	// Running activities get 30 s after SIGTERM to finish their page and heartbeat. The SDK
	// sends an activity's heartbeats at most every 80% of its heartbeat timeout (24 s for a
	// chunk) unless told otherwise: a chunk retried after a crash would read again up to that
	// much of its pages; at most one heartbeat a second per chunk in flight keeps it to a second.
	w := worker.New(tc, cfg.Temporal.TaskQueue, worker.Options{WorkerStopTimeout: 30 * time.Second, MaxHeartbeatThrottleInterval: time.Second})
	w.RegisterWorkflow(workflows.ProductImport) // registered as "ProductImport"
	w.RegisterWorkflow(workflows.CustomerImport)
	w.RegisterWorkflow(workflows.DeadLetterRetry)
	w.RegisterActivity(&activities.Import{Source: source, Index: index, Log: log, Settings: cfg.Import, Metrics: m, Alerts: &cfg.Alerts})

	log.Info("worker starting", zap.String("temporal", cfg.Temporal.Address), zap.String("namespace", cfg.Temporal.Namespace),
		zap.String("task_queue", cfg.Temporal.TaskQueue), zap.String("elasticsearch", cfg.Elasticsearch.Where()),
		zap.String("erp", cfg.ERP.BaseURL), zap.String("index_prefix", cfg.Index.Prefix),
		zap.String("change_detection", string(cfg.Import.Detection)),
		zap.String("metrics", "http://"+cfg.Worker.MetricsAddr+"/metrics"))
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
