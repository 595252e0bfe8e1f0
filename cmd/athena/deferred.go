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

		ResultJobMaxBytes:      g.DeferredResultJobMaxBytes,
		ResultClientQuotaBytes: g.DeferredResultClientQuotaBytes,
		MaxQueuedPerClient:     g.DeferredMaxQueuedPerClient,
		ChunkRows:              c.WSS.ChunkRows,
	}
	if b, ok := shared.(jobs.Broker); ok {
		dc.Broker = b
	}
	return dc
}

// validateDeferred checks the keys of stored results and the queue cap.
func (c *Config) validateDeferred(bad func(key, format string, args ...any)) {
	g := c.Gateway
	if g.DeferredResultJobMaxBytes < 0 {
		bad("gateway.deferred_result_job_max_bytes", "must not be negative, got %d", g.DeferredResultJobMaxBytes)
	}
	if g.DeferredResultClientQuotaBytes < -1 {
		bad("gateway.deferred_result_client_quota_bytes", "must be -1 (no quota), 0 (the default) or a byte count, got %d", g.DeferredResultClientQuotaBytes)
	}
	if g.DeferredMaxQueuedPerClient < -1 {
		bad("gateway.deferred_max_queued_per_client", "must be -1 (no cap), 0 (the default) or a count, got %d", g.DeferredMaxQueuedPerClient)
	}
}
