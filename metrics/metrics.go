// Package metrics exposes the worker's Prometheus metrics: the Temporal SDK's own (workflow and
// activity task latencies, polls, failures) and erpsync's (records indexed, deleted and
// dead-lettered per entity, watermark lag, chunk latency).
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
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics holds one worker's registry. Create it once per process with New; its methods are
// safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	temporal client.MetricsHandler

	records    *prometheus.CounterVec
	chunk      *prometheus.HistogramVec
	watermarks *prometheus.GaugeVec
}

// New builds the registry with Go runtime and process collectors, the Temporal SDK's metrics
// (through OpenTelemetry) and erpsync's own.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m := &Metrics{
		reg: reg,
		temporal: temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
			Meter:   provider.Meter("temporal-sdk-go"),
			OnError: func(error) {}, // a metric that cannot be recorded must not take the worker down
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
	reg.MustRegister(m.records, m.chunk, m.watermarks, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
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
