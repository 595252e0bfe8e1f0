package main

import (
	"time"

	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/store/sqlstore"
	"github.com/athena-go/athena/schema"
)

// deferred builds core's deferred-job config: the queue lives in the
// control-plane store, events cross nodes through Redis when configured.
func (c *Config) deferred(store *schema.Store, shared cache.KV) jobs.Config {
	g := c.Gateway
	dc := jobs.Config{
		Store:          sqlstore.NewJobs(store.DB, store.Dialect),
		WorkerEnabled:  g.DeferredQueryWorkerEnabled == nil || *g.DeferredQueryWorkerEnabled,
		PollInterval:   time.Duration(g.DeferredQueryWorkerPollMS) * time.Millisecond,
		Concurrency:    g.DeferredQueryWorkerConcurrency,
		MaxAttempts:    g.DeferredMaxAttempts,
		ResultMaxBytes: g.DeferredResultMaxBytes,
		Retention:      time.Duration(g.DeferredRetention),
		Lease:          time.Duration(g.DeferredLease),
	}
	if b, ok := shared.(jobs.Broker); ok {
		dc.Broker = b
	}
	return dc
}
