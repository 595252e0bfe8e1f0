package usage

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	logDropped   *prometheus.CounterVec
	statsDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "log_dropped_total",
			Help: "Control-plane log rows dropped because the writer's queue was full, by log.",
		}, []string{"log"}),
		statsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "gateway", Name: "stats_dropped_total",
			Help: "Statistics deltas dropped because the statistics batcher's queue was full.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.logDropped, m.statsDropped} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
