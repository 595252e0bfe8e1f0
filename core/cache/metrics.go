package cache

import (
	"strings"

	"github.com/athena-go/athena/core/vocab"
	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the cache's collectors (namespace athena, subsystem
// cache). Labels come from fixed sets: no client, table or key.
type metrics struct {
	reg prometheus.Registerer
	// lookups counts fetches that consulted the cache, by outcome (hit,
	// miss, bypass) and source (memory, redis, database).
	lookups *prometheus.CounterVec
	// evictions counts entries the in-process cache dropped, by cause
	// (size, expired).
	evictions *prometheus.CounterVec
	// coalesced counts fetches that waited for an identical miss in flight
	// instead of querying the database themselves.
	coalesced prometheus.Counter
	// invalidations counts generation bumps by scope (table, client).
	invalidations *prometheus.CounterVec
	// sharedErrors counts failed calls to the shared store by op
	// (generations, get, set, bump).
	sharedErrors *prometheus.CounterVec
	// degraded counts fetches served from the database because the shared
	// store was unreachable.
	degraded prometheus.Counter
}

// newCacheMetrics builds the collectors and registers them on reg (when not
// nil).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "athena", "cache"
	m := &metrics{
		reg: reg,
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Cacheable fetches by outcome (hit, miss, bypass) and source (memory, redis, database).",
		}, []string{"outcome", "source"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "evictions_total",
			Help: "Entries dropped from the in-process cache, by cause (size, expired).",
		}, []string{"cause"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "coalesced_total",
			Help: "Fetches that waited for an identical miss in flight instead of querying the database.",
		}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "invalidations_total",
			Help: "Writes that invalidated cached reads, by scope (table, client).",
		}, []string{"scope"}),
		sharedErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "redis_errors_total",
			Help: "Failed calls to the shared (Redis) cache by op (generations, get, set, bump).",
		}, []string{"op"}),
		degraded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "degraded_total",
			Help: "Fetches served from the database because the shared cache was unreachable.",
		}),
	}
	for _, o := range []string{vocab.CacheHit + "/" + vocab.CacheSourceMemory, vocab.CacheHit + "/" + vocab.CacheSourceRedis, vocab.CacheMiss + "/database", vocab.CacheBypass + "/database"} {
		outcome, source, _ := strings.Cut(o, "/")
		m.lookups.WithLabelValues(outcome, source)
	}
	for _, c := range []string{"size", "expired"} {
		m.evictions.WithLabelValues(c)
	}
	for _, s := range []string{"table", "client"} {
		m.invalidations.WithLabelValues(s)
	}
	for _, op := range []string{"generations", "get", "set", "bump"} {
		m.sharedErrors.WithLabelValues(op)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.lookups, m.evictions, m.coalesced, m.invalidations, m.sharedErrors, m.degraded} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// observeMemory registers gauges reading the in-process cache's size.
func (m *metrics) observeMemory(mem *otter.Cache[string, *cachedReply]) error {
	if m.reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "athena", Subsystem: "cache", Name: "memory_bytes",
			Help: "Weighted size of the in-process cache (reply bytes plus a fixed allowance per entry).",
		}, func() float64 { return float64(mem.WeightedSize()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "athena", Subsystem: "cache", Name: "memory_entries",
			Help: "Entries in the in-process cache (an estimate).",
		}, func() float64 { return float64(mem.EstimatedSize()) }),
	} {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
