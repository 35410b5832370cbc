// Package metrics exposes the worker's Prometheus metrics: the Temporal SDK's own (workflow and
// activity task latencies, polls, failures) and erpsync's (records indexed, deleted and
// dead-lettered per entity, watermark lag, chunk latency, runs by outcome).
package metrics

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/erpsync/erpsync/erp"
)

// Metrics holds one worker's registry. Create it once per process with New; its methods are
// safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	temporal client.MetricsHandler

	records    *prometheus.CounterVec
	chunk      *prometheus.HistogramVec
	watermarks *prometheus.GaugeVec
	runs       *prometheus.CounterVec
	lastRun    *prometheus.GaugeVec
	expired    prometheus.Counter
}

// ServiceName is the OpenTelemetry service.name of the worker's metrics (target_info).
const ServiceName = "erpsync-worker"

// SecondBuckets are the bucket bounds, in seconds, of the Temporal SDK's latencies: from a
// millisecond (a poll answered from the task queue) to ten minutes (a long activity). The SDK
// records its timers in seconds, and OpenTelemetry's default bounds (0, 5, 10 ... 10000) are
// meant for milliseconds: every sample under 5 s fell into one bucket.
var SecondBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600}

// New builds the registry with Go runtime and process collectors, the Temporal SDK's metrics
// (through OpenTelemetry: timers in SecondBuckets, counters as Prometheus counters, a resource
// with service.name ServiceName) and erpsync's own.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("metrics resource: %w", err)
	}
	seconds := sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: SecondBuckets}},
	)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res), sdkmetric.WithView(seconds))
	m := &Metrics{
		reg: reg,
		temporal: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter: provider.Meter("temporal-sdk-go"),
			// The SDK's counters only go up: exported as counters (_total), not as gauges.
			UseMonotonicCounters: true,
			OnError:              func(error) {}, // a metric that cannot be recorded must not take the worker down
		}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erpsync_records_total",
			Help: "ERP records an import handled, by entity and outcome (read, indexed, stale, deleted, dead_lettered, rejected).",
		}, []string{"entity", "outcome"}),
		chunk: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "erpsync_chunk_duration_seconds",
			Help:    "Wall time of one SyncChunk activity attempt, by entity.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"entity"}),
		watermarks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "erpsync_watermark_timestamp_seconds",
			Help: "The committed watermark of each entity (Unix seconds); time() minus it is the lag.",
		}, []string{"entity"}),
	}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "erpsync_runs_total",
		Help: "Import runs that ended, by workflow (ProductImport, CustomerImport), mode and outcome (success, partial, failed, refused, cancelled).",
	}, []string{"workflow", "mode", "outcome"})
	m.lastRun = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "erpsync_last_run_timestamp_seconds",
		Help: "When an import run of workflow and mode last ended with outcome (Unix seconds).",
	}, []string{"workflow", "mode", "outcome"})
	m.expired = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "erpsync_dead_letters_expired_total",
		Help: "Dead letters deleted because they were older than the configured age.",
	})
	// Every entity's record counters exist from the start at 0, so that the first dead letters
	// after a restart are an increase Prometheus sees (a series born at 5 has no increase).
	for _, e := range erp.Entities {
		for _, outcome := range []string{"read", "indexed", "stale", "deleted", "dead_lettered", "rejected"} {
			m.records.WithLabelValues(string(e), outcome)
		}
	}
	reg.MustRegister(m.records, m.chunk, m.watermarks, m.runs, m.lastRun, m.expired, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "erpsync_up", Help: "1 while the worker runs.",
	}, func() float64 { return 1 }))
	return m, nil
}

// Temporal is the handler to pass as client.Options.MetricsHandler.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Records adds n records of entity with outcome.
func (m *Metrics) Records(entity, outcome string, n int) {
	if n > 0 {
		m.records.WithLabelValues(entity, outcome).Add(float64(n))
	}
}

// Chunk records how long one chunk of entity took.
func (m *Metrics) Chunk(entity string, d time.Duration) {
	m.chunk.WithLabelValues(entity).Observe(d.Seconds())
}

// Watermark records entity's committed watermark.
func (m *Metrics) Watermark(entity string, t time.Time) {
	m.watermarks.WithLabelValues(entity).Set(float64(t.UnixNano()) / 1e9)
}

// Run records that a run of workflow in mode ended with outcome.
func (m *Metrics) Run(workflow, mode, outcome string) {
	m.runs.WithLabelValues(workflow, mode, outcome).Inc()
	m.lastRun.WithLabelValues(workflow, mode, outcome).SetToCurrentTime()
}

// Expired records n dead letters deleted for their age.
func (m *Metrics) Expired(n int) {
	if n > 0 {
		m.expired.Add(float64(n))
	}
}
