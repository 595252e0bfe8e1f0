package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/core/live"
	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/usage"
	"github.com/athena-go/athena/core/vocab"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Gateway. The zero value of every field means its
// default.
type Config struct {
	// Clients are opened by New, in order. A client whose Open fails stays
	// registered and answers backend_unavailable; the others keep serving.
	Clients []ClientSpec
	// Open builds a client's Backend. Required.
	Open OpenFunc
	// Store is the control-plane store; Ready reports it. Nil means no store
	// (ready as soon as the gateway is built).
	Store Store
	// StatementTimeout bounds each request, streams included. Default 30s.
	StatementTimeout time.Duration
	// MaxStatementTimeout is the longest timeout a request may ask for
	// (Call.Timeout: a frame's timeout_ms, X-Athena-Timeout-Ms); a request
	// asking for more is refused with bad_request. Default 10m, and never
	// below a client's own statement timeout.
	MaxStatementTimeout time.Duration
	// MaxRows caps the rows a non-streamed reply carries. Default 10,000.
	MaxRows int
	// MaxReplyBytes caps the encoded rows of a non-streamed reply (fetch,
	// query, and the rows insert, update and delete return), counted while
	// they are read: the rows past it are not read (meta.truncated), and a
	// reply that cannot be cut is refused with reply_too_large. Default
	// 16 MiB; ClientSpec.MaxReplyBytes overrides it per client.
	MaxReplyBytes int
	// MaxInsertRows caps the rows of one insert. Default 10,000.
	MaxInsertRows int
	// Logger receives lifecycle and error logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the gateway's metrics (athena_cache_*); nil
	// registers nothing.
	Registerer prometheus.Registerer
	// Cache configures the fetch cache; the zero value disables it.
	Cache cache.Config
	// SnakeCaseNames makes camelCase table and column names in requests
	// resolve to their snake_case form ("createdAt" → created_at) when the
	// table has such a column; a name that exists as given still works.
	// Default false.
	SnakeCaseNames bool
	// CamelCaseReplies renames the columns of reply rows to camelCase
	// (created_at → "createdAt"). Default false.
	CamelCaseReplies bool
	// Deferred configures deferred jobs; without a Store deferral answers
	// 503 queue_unavailable. Run, Logger and Registerer are set by New.
	Deferred jobs.Config
	// AdminKey guards the admin surface (ATHENA_KEY_12). Empty closes it:
	// CheckAdmin answers 403.
	AdminKey Secret
	// Control is the control-plane store of API keys, the client catalog,
	// request logs and statistics. Nil disables them: no key is enforced
	// and the admin routes that need it answer 503.
	Control ControlPlane
	// SyncInterval is how often the gateway polls Control for changes made
	// on other nodes (keys, enforcement, catalog). Default 250ms.
	SyncInterval time.Duration
	// Stats configures the log writers and the statistics batcher.
	Stats usage.Config
	// Admission configures admission control (DESIGN.md §6); the zero
	// value admits everything.
	Admission admission.Config
	// Catalog bounds what clients created through the admin API may point
	// at; the zero value lets them point at nothing (config.yaml's clients
	// are not checked).
	Catalog CatalogPolicy
	// Live is the live-query hub (core/live): New binds it to this
	// gateway's fetches, gateway writes report to it, control-plane
	// changes recheck its subscribers, and Close closes it. Nil disables
	// live queries.
	Live *live.Hub
}

// Store is the control-plane store as the dispatcher needs it.
type Store interface {
	// Ready returns nil when the store is reachable and migrated.
	Ready(ctx context.Context) error
}

// Gateway runs operations against named clients. It is safe for concurrent
// use; Close releases every client.
type Gateway struct {
	cfg      Config
	log      *slog.Logger
	reg      registry
	cache    *cache.Cache         // nil when no client or table can be cached
	jobs     *jobs.Queue          // nil when no job queue is configured
	ctl      *control             // nil without Config.Control
	adm      *admission.Limiter   // nil unless Config.Admission.Enabled
	replLag  *prometheus.GaugeVec // athena_live_replication_lag_bytes; nil without Config.Live
	draining atomic.Bool
	closeMu  sync.Mutex
	closed   bool
}

// New opens every configured client and returns the gateway. It fails only
// on configuration errors; an unreachable database is logged and reported
// by Health.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.Open == nil {
		return nil, errors.New("core: Config.Open is required")
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 30 * time.Second
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 10000
	}
	if cfg.MaxStatementTimeout <= 0 {
		cfg.MaxStatementTimeout = DefaultMaxStatementTimeout
	}
	if cfg.MaxReplyBytes <= 0 {
		cfg.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if cfg.MaxInsertRows <= 0 {
		cfg.MaxInsertRows = 10000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, log: log.With("component", "core")}
	if cfg.Cache.Enabled || len(cfg.Cache.Clients) > 0 {
		c, err := cache.New(cfg.Cache, cfg.Registerer, g.log)
		if err != nil {
			return nil, fmt.Errorf("core: %w", err)
		}
		g.cache = c
	}
	if cfg.Live != nil {
		cfg.Live.Bind(liveEvaluator{g})
		g.replLag = newReplicationLag(cfg.Registerer)
	}
	g.reg.clients = make(map[string]*client, len(cfg.Clients))
	for _, spec := range cfg.Clients {
		if _, dup := g.reg.clients[spec.Name]; dup {
			_ = g.Close()
			return nil, fmt.Errorf("core: client %q configured twice", spec.Name)
		}
		g.reg.clients[spec.Name] = g.open(ctx, spec)
	}
	// The control plane comes first: a worker checks a job's owner key
	// and client against it before running the job.
	if cfg.Control != nil {
		ct, err := newControl(ctx, g)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		g.ctl = ct
	}
	if cfg.Deferred.Store != nil {
		dc := cfg.Deferred
		dc.Run, dc.Stream, dc.Logger, dc.Registerer = g.runJob, g.streamJob, g.log, cfg.Registerer
		if dc.Lease <= 0 {
			// The longest a request may run, plus a margin for storing
			// its result.
			dc.Lease = cfg.StatementTimeout + 30*time.Second
		}
		q, err := jobs.New(dc)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		g.jobs = q
	}
	if cfg.Admission.Enabled {
		a, err := admission.New(cfg.Admission, cfg.Registerer, g.log)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		g.adm = a
	}
	return g, nil
}

func (g *Gateway) open(ctx context.Context, spec ClientSpec) *client {
	c := &client{spec: spec, timeout: spec.StatementTimeout, maxBytes: spec.MaxReplyBytes, snake: g.cfg.SnakeCaseNames}
	if c.timeout <= 0 {
		c.timeout = g.cfg.StatementTimeout
	}
	if c.maxBytes <= 0 {
		c.maxBytes = g.cfg.MaxReplyBytes
	}
	b, err := g.cfg.Open(ctx, spec)
	if err != nil {
		c.openErr = err
		g.log.Error("client unavailable", "client", spec.Name, "kind", spec.Kind, "error", err)
		return c
	}
	c.backend = b
	if p, ok := b.(Pinger); ok {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := p.Ping(pctx); err != nil {
			g.log.Warn("client unhealthy at startup; requests get backend_unavailable until it recovers",
				"client", spec.Name, "kind", spec.Kind, "error", err)
			g.resolveLiveSource(ctx, c, false)
			return c
		}
	}
	g.resolveLiveSource(ctx, c, true)
	g.log.Info("client connected", "client", spec.Name, "kind", spec.Kind)
	return c
}

// Clients returns the registered client names, sorted.
func (g *Gateway) Clients() []string { return g.reg.names() }

// deferCall stores call as a queued job, after the same checks an inline
// request would fail fast on (the client exists).
func (g *Gateway) deferCall(ctx context.Context, o *op) (*Result, error) {
	if g.jobs == nil {
		return nil, jobs.ErrNoQueue
	}
	c, err := g.client(o)
	if err != nil {
		return nil, err
	}
	call := o.Call
	if call.Op == OpSQL && call.Client == "" {
		call.Client = c.spec.Name
	}
	// The worker of this node that runs the job runs what was decoded
	// here (issue #19); a body that failed to decode is decoded again
	// there, and fails the job with the same error.
	var decoded any
	if o.reqErr == nil {
		decoded = o.req
	}
	return g.jobs.EnqueueDecoded(ctx, call, c.spec.Name, o.keyID, decoded)
}

// Do runs one operation and buffers its reply.
//
// A call with Defer set is stored as a job instead and answered with a
// Result whose Deferred is set (HTTP 202). Admission control
// (core/admission.go) may refuse a call (rate_limited) or defer it.
func (g *Gateway) Do(ctx context.Context, call Call) (res *Result, err error) {
	o := newOp(call)
	ctx, tr, err := g.begin(ctx, o) // API keys, frozen clients (core/call.go)
	defer func() { g.finish(tr, err) }()
	if err != nil {
		return nil, err
	}
	asked := o.Defer
	v, err := g.admit(ctx, o, false)
	if err != nil {
		return nil, err
	}
	if o.Defer && !asked {
		return g.deferOverLimit(ctx, o, v)
	}
	if o.Defer {
		return g.deferCall(ctx, o)
	}
	return g.run(ctx, o)
}

// runJob runs a claimed deferred job inline: the queue's workers call it.
// A job whose client was frozen or deactivated, or whose API key was
// revoked, archived or expired since it was deferred, fails instead of
// running (core/jobaccess.go).
func (g *Gateway) runJob(ctx context.Context, j *Job) (*Result, error) {
	if err := g.jobRunnable(j); err != nil {
		return nil, err
	}
	return g.run(ctx, jobOp(j))
}

// jobOp is the op of a claimed job: its request as its deferral decoded it
// when this node deferred it (Job.Decoded), else its stored body decoded.
func jobOp(j *Job) *op {
	call := Call{Op: j.Action, Client: j.ClientName, Body: j.Request.Body, StripNulls: j.Request.StripNulls}
	if j.Decoded != nil {
		return &op{Call: call, req: j.Decoded}
	}
	return newOp(call)
}

// run executes a call inline, under its statement timeout (core/limits.go).
func (g *Gateway) run(ctx context.Context, o *op) (*Result, error) {
	c, err := g.client(o)
	if err != nil {
		return nil, err
	}
	timeout, err := g.timeout(c, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := g.do(ctx, c, o)
	return res, vocab.Classify(ctx, err)
}

func (g *Gateway) do(ctx context.Context, c *client, o *op) (*Result, error) {
	if o.reqErr != nil {
		return nil, o.reqErr // a bad body, or an unknown operation
	}
	switch r := o.req.(type) {
	case *request.FetchRequest:
		return g.fetch(ctx, c, o, r)
	case *request.InsertRequest:
		return g.insert(ctx, c, o, r)
	case *request.UpdateRequest:
		return g.update(ctx, c, o, r)
	case *request.DeleteRequest:
		return g.delete(ctx, c, o, r)
	case *request.QueryRequest:
		return g.query(ctx, c, o, r)
	}
	return nil, Errorf(CodeBadRequest, "unknown operation %q", vocab.Truncate(string(o.Op), 32))
}

// client resolves the call's client, including /query/sql's db_name.
func (g *Gateway) client(o *op) (*client, error) {
	name := o.clientName()
	if name == "" {
		if o.Op == OpSQL {
			return nil, Errorf(CodeBadRequest, "field db_name: required (or send X-Athena-Client)")
		}
		return nil, Errorf(CodeMissingClientHeader, "X-Athena-Client header is required")
	}
	c, ok := g.reg.get(name)
	if !ok {
		return nil, Errorf(CodeUnknownClient, "unknown client %q", vocab.Truncate(name, 128))
	}
	if c.backend == nil {
		return nil, Wrap(CodeBackendUnavailable, fmt.Sprintf("backend for client %q is unavailable", name), c.openErr)
	}
	return c, nil
}

func (g *Gateway) stripNulls(o *op, body *bool) bool {
	if body != nil {
		return *body
	}
	return o.StripNulls != nil && *o.StripNulls
}

// invalidate drops the cached reads of a client's table ("" for all of its
// tables) on every node, after a write.
func (g *Gateway) invalidate(ctx context.Context, c *client, table string) {
	if g.cache != nil {
		g.cache.Invalidate(ctx, c.spec.Name, table)
	}
}
