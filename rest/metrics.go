package rest

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds the athena_rest_* collectors. Labels come from fixed sets:
// route is a registered pattern (or "unmatched"/"preflight"), method one of
// the standard methods or "other", code an envelope code or "ok".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "rest", Name: "requests_total",
			Help: "REST requests by route pattern, method and reply code (an envelope code, or ok).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "athena", Subsystem: "rest", Name: "request_duration_seconds",
			Help:    "REST request latency by route pattern and method, until the handler returns.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "athena", Subsystem: "rest", Name: "in_flight_requests",
			Help: "REST requests being served right now.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("rest: register metrics: %w", err)
		}
	}
	return m, nil
}

// promHandler serves g in the Prometheus exposition format.
func promHandler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      promLogger{log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// promLogger adapts slog to promhttp's Println logger.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Warn("metrics gathering failed", attrError, fmt.Sprint(v...))
}
