package live

import "github.com/prometheus/client_golang/prometheus"

// metrics are the hub's collectors (namespace athena, subsystem live).
// Labels come from fixed sets: no client, table or query.
type metrics struct {
	subscriptions prometheus.Gauge
	queries       prometheus.Gauge
	evaluations   *prometheus.CounterVec // outcome: ok, error
	events        *prometheus.CounterVec // event: change, resync, end (per subscriber delivery)
	changes       *prometheus.CounterVec // matched: true, false
	resumes       *prometheus.CounterVec // outcome: replayed, resynced
	lag           prometheus.Histogram
	// matched and ignored are changes's two children, resolved once: the
	// unwatched path is a map lookup and one atomic add.
	matched, ignored prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "athena", "live"
	m := &metrics{
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "subscriptions",
			Help: "Live subscriptions on this node."}),
		queries: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "queries",
			Help: "Distinct live queries on this node (identical subscriptions share one)."}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "evaluations_total",
			Help: "Live-query evaluations, by outcome (ok, error)."}, []string{"outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "events_total",
			Help: "Live events handed to subscribers, by event (change, resync, end)."}, []string{"event"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "changes_total",
			Help: "Changes reported by the sources, by whether a live query watched them (true, false)."}, []string{"matched"}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "resumes_total",
			Help: "Subscriptions that carried a resume cursor, by outcome (replayed, resynced)."}, []string{"outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "lag_seconds",
			Help:    "From a change's commit to its events handed to the subscribers' sockets.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
	}
	m.matched, m.ignored = m.changes.WithLabelValues("true"), m.changes.WithLabelValues("false")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.subscriptions, m.queries, m.evaluations, m.events, m.changes, m.resumes, m.lag} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
