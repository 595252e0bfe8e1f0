package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/athena-go/athena/core/vocab"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures deferred jobs. The zero value of each field
// means its default.
type Config struct {
	// Store is the durable queue. Nil means deferral is unavailable: a
	// deferred request gets 503 queue_unavailable.
	Store Store
	// Run executes a claimed job's request inline, as the gateway runs any
	// request (core passes its own dispatcher, which first checks that the
	// job may still run). Required with WorkerEnabled.
	Run func(ctx context.Context, j *vocab.Job) (*vocab.Result, error)
	// Logger receives the queue's logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the athena_gateway_deferred_* metrics; nil
	// registers nothing.
	Registerer prometheus.Registerer
	// Broker shares job events between nodes. Nil means one node.
	Broker Broker
	// Channel is the broker channel. Default "athena:deferred".
	Channel string
	// WorkerEnabled runs workers on this node.
	WorkerEnabled bool
	// PollInterval is how often idle workers look for jobs. Default 1s; a
	// job submitted on this node wakes them at once, and one this node's
	// workers cannot take at once wakes the other nodes' over the Broker.
	PollInterval time.Duration
	// Concurrency is how many jobs' requests this node runs at once (a
	// job's slot is freed when its request has run, before its outcome is
	// stored). Default 8.
	Concurrency int
	// MaxAttempts is how often a job is claimed before it fails. Default 3.
	MaxAttempts int
	// ResultMaxBytes is the size up to which a result is carried inline in
	// the job (and its terminal event); a fetch, query or sql result that
	// also fits in one chunk is stored nowhere else. A bigger result of a
	// fetch, query or sql is stored in chunks only, and the job's result is
	// its summary;
	// a bigger result of another operation is stored without its data and
	// marked truncated. Default 1 MiB.
	ResultMaxBytes int
	// ResultJobMaxBytes bounds the stored result of one job: rows past it
	// are not stored, and the job says so (result_truncated). Default 1 GiB.
	ResultJobMaxBytes int64
	// ResultClientQuotaBytes bounds the stored results (chunks) of one
	// client's jobs together; a job that would pass it fails with
	// payload_too_large. Results leave the quota when their jobs are
	// pruned (Retention) or requeued. A result that fits in one chunk and
	// ResultMaxBytes is kept in its job, stores no chunk and does not
	// count. Default 10 GiB; negative means none.
	ResultClientQuotaBytes int64
	// ChunkRows is how many rows a stored chunk holds. Default 500 (the
	// socket's chunk_rows).
	ChunkRows int
	// MaxQueuedPerClient caps the queued jobs of one client: a deferral
	// past it is refused with rate_limited. Default 1000; negative means
	// no cap.
	MaxQueuedPerClient int
	// Stream opens a claimed job's rows when its result can be stored in
	// chunks (a fetch without in-memory post-processing, a query, sql); it
	// returns nil Rows for a job that runs through Run instead. verb is
	// the reply's wording ("Fetched", "Query returned"). Optional.
	Stream func(ctx context.Context, j *vocab.Job) (rows Rows, verb string, err error)
	// Retention is how long terminal jobs are kept. Default 24h.
	Retention time.Duration
	// NodeID names this node in leases. Default a random id.
	NodeID string
	// StatsInterval is how often the queue gauges are refreshed. Default 5s.
	StatsInterval time.Duration
	// Lease is how long a claim lasts before another worker may take the
	// job (its worker is presumed dead). It should exceed the longest
	// request: core sets it to the statement timeout plus 30s when zero.
	// Default 60s.
	Lease time.Duration
}

// Rows is a cursor over a job's result rows (core.Cursor): read one row at
// a time, never the whole result.
type Rows interface {
	Next() bool
	// AppendRow appends the current row as one JSON object.
	AppendRow(buf []byte) []byte
	Err() error
	Close()
}

func (c *Config) defaults() {
	if c.Channel == "" {
		c.Channel = "athena:deferred"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.ResultMaxBytes <= 0 {
		c.ResultMaxBytes = 1 << 20
	}
	if c.ResultJobMaxBytes <= 0 {
		c.ResultJobMaxBytes = 1 << 30
	}
	if c.ResultClientQuotaBytes == 0 {
		c.ResultClientQuotaBytes = 10 << 30
	}
	if c.ChunkRows <= 0 {
		c.ChunkRows = 500
	}
	if c.MaxQueuedPerClient == 0 {
		c.MaxQueuedPerClient = 1000
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
	if c.StatsInterval <= 0 {
		c.StatsInterval = 5 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.NodeID == "" {
		c.NodeID = "node-" + newID()[:12]
	}
}
