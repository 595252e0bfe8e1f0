package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds the athena_rest_* collectors. Labels come from fixed sets:
// route is a registered pattern (or "unmatched"/"preflight"), method one of
// the standard methods or "other", code an envelope code or "ok".
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// inFlight counts the requests being served; the in_flight_requests
	// gauge reads it when scraped. One atomic add per request and one per
	// reply, where a prometheus.Gauge's Inc and Dec are each a
	// compare-and-swap loop on a float's bits.
	inFlight      atomic.Int64
	inFlightGauge prometheus.GaugeFunc
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
	}
	m.inFlightGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "athena", Subsystem: "rest", Name: "in_flight_requests",
		Help: "REST requests being served right now.",
	}, func() float64 { return float64(m.inFlight.Load()) })
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlightGauge} {
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
