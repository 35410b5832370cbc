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
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/erpsync/erpsync/activities"
	"github.com/erpsync/erpsync/config"
	"github.com/erpsync/erpsync/erp/d365"
	"github.com/erpsync/erpsync/logging"
	"github.com/erpsync/erpsync/metrics"
	"github.com/erpsync/erpsync/search"
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
GOGC (default 400 here) and GOMEMLIMIT (default 256MiB here) tune Go's memory as usual.

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
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// defaultMemoryLimit is the worker's soft memory limit when GOMEMLIMIT is not set.
const defaultMemoryLimit = 256 << 20

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

	m, err := metrics.New()
	if err != nil {
		return err
	}
	metricsSrv := &http.Server{Addr: cfg.Worker.MetricsAddr, Handler: m.Handler(), ReadHeaderTimeout: 5 * time.Second}
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

	// Running activities get 30 s after SIGTERM to finish their page and heartbeat.
	w := worker.New(tc, cfg.Temporal.TaskQueue, worker.Options{WorkerStopTimeout: 30 * time.Second})
	w.RegisterWorkflow(workflows.ProductImport) // registered as "ProductImport"
	w.RegisterWorkflow(workflows.CustomerImport)
	w.RegisterActivity(&activities.Import{Source: source, Index: index, Log: log, Settings: cfg.Import, Metrics: m})

	log.Info("worker starting", zap.String("temporal", cfg.Temporal.Address), zap.String("namespace", cfg.Temporal.Namespace),
		zap.String("task_queue", cfg.Temporal.TaskQueue), zap.String("elasticsearch", cfg.Elasticsearch.Where()),
		zap.String("erp", cfg.ERP.BaseURL), zap.String("index_prefix", cfg.Index.Prefix),
		zap.String("change_detection", string(cfg.Import.Detection)),
		zap.String("metrics", "http://"+cfg.Worker.MetricsAddr+"/metrics"))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	log.Info("worker stopping: finishing running activities")
	w.Stop()
	return nil
}
