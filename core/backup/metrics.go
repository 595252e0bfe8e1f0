package backup

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the athena_backup_* collectors. The client label takes the
// configured client names only (a small, operator-chosen set).
type metrics struct {
	lastSuccess *prometheus.GaugeVec
	size        *prometheus.GaugeVec
	snapshots   *prometheus.CounterVec
	failures    *prometheus.CounterVec
	restores    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	interval    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "athena", Subsystem: "backup", Name: "last_success_timestamp_seconds",
			Help: "Unix time the client's newest snapshot was last confirmed current (uploaded, or found unchanged); process start when it has none.",
		}, []string{"client"}),
		size: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "athena", Subsystem: "backup", Name: "last_size_bytes",
			Help: "Stored size of the client's newest snapshot (compressed).",
		}, []string{"client"}),
		snapshots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "backup", Name: "snapshots_total",
			Help: "Snapshot attempts by outcome: uploaded, unchanged (nothing uploaded) or failed.",
		}, []string{"client", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "backup", Name: "failures_total",
			Help: "Backup failures by operation: snapshot, retention or restore.",
		}, []string{"client", "op"}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "athena", Subsystem: "backup", Name: "restores_total",
			Help: "Restores by outcome: restored or failed.",
		}, []string{"client", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "athena", Subsystem: "backup", Name: "snapshot_duration_seconds",
			Help:    "Time to take and upload a snapshot that was uploaded.",
			Buckets: prometheus.ExponentialBuckets(0.05, 4, 9),
		}, []string{"client"}),
		interval: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "athena", Subsystem: "backup", Name: "interval_seconds",
			Help: "The configured time between scheduled snapshots (backups.interval).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.lastSuccess, m.size, m.snapshots, m.failures, m.restores, m.duration, m.interval} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("backup: metrics: %w", err)
	}
	return m, nil
}
