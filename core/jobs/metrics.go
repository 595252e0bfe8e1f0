package jobs

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the athena_gateway_deferred_* series (DESIGN.md §5;
// the names are fixed: users' alert rules depend on them).
type metrics struct {
	queue     *prometheus.GaugeVec
	oldestAge prometheus.Gauge
	storageUp prometheus.Gauge
	events    *prometheus.CounterVec
	pushes    *prometheus.CounterVec
	// resultBytes and resultWritten are labelled by client name: a set
	// the configuration and the catalog bound, never a request value.
	resultBytes   *prometheus.GaugeVec
	resultWritten *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_queue_requests",
			Help: "Deferred requests in the queue by status (queued and running refreshed every 5 s, the terminal statuses every minute)."}, []string{"status"}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_queue_oldest_age_seconds",
			Help: "Age of the oldest queued deferred request, 0 when none."}),
		storageUp: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_queue_storage_up",
			Help: "1 when the job queue's store answered its last call, 0 when it failed."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_events_total",
			Help: "Deferred request status changes by kind (enqueue, claim, finish, expire, requeue, cancel) and resulting status."}, []string{"kind", "status"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_bus_messages_total",
			Help: "Job events published by path: redis, or local when there is no broker or it failed."}, []string{"path"}),
		resultBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_result_bytes",
			Help: "Bytes of deferred results stored per client (refreshed every 5 s); the client quota counts them."}, []string{"client"}),
		resultWritten: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "athena", Subsystem: "gateway", Name: "deferred_result_written_bytes_total",
			Help: "Bytes of deferred result chunks written per client, by this node."}, []string{"client"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.queue, m.oldestAge, m.storageUp, m.events, m.pushes, m.resultBytes, m.resultWritten} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("jobs: metrics: %w", err)
		}
	}
	return m, nil
}
