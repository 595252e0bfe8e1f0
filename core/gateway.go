package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core/admission"
	"github.com/athena-go/athena/core/cache"
	"github.com/athena-go/athena/core/jobs"
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
	// StatementTimeout bounds each non-streamed request. Default 30s.
	StatementTimeout time.Duration
	// MaxRows caps the rows a non-streamed reply carries. Default 10,000.
	MaxRows int
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
	cache    *cache.Cache       // nil when no client or table can be cached
	jobs     *jobs.Queue        // nil when no job queue is configured
	ctl      *control           // nil without Config.Control
	adm      *admission.Limiter // nil unless Config.Admission.Enabled
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
	g.reg.clients = make(map[string]*client, len(cfg.Clients))
	for _, spec := range cfg.Clients {
		if _, dup := g.reg.clients[spec.Name]; dup {
			_ = g.Close()
			return nil, fmt.Errorf("core: client %q configured twice", spec.Name)
		}
		g.reg.clients[spec.Name] = g.open(ctx, spec)
	}
	if cfg.Deferred.Store != nil {
		dc := cfg.Deferred
		dc.Run, dc.Logger, dc.Registerer = g.run, g.log, cfg.Registerer
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
	if cfg.Control != nil {
		ct, err := newControl(ctx, g)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		g.ctl = ct
	}
	return g, nil
}

func (g *Gateway) open(ctx context.Context, spec ClientSpec) *client {
	c := &client{spec: spec, timeout: spec.StatementTimeout, snake: g.cfg.SnakeCaseNames}
	if c.timeout <= 0 {
		c.timeout = g.cfg.StatementTimeout
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
			return c
		}
	}
	g.log.Info("client connected", "client", spec.Name, "kind", spec.Kind)
	return c
}

// Clients returns the registered client names, sorted.
func (g *Gateway) Clients() []string { return g.reg.names() }

// Jobs is the deferred queue: get, requeue, cancel and watch jobs by id. It
// is nil when no queue is configured, and a nil *jobs.Queue answers every
// call with 503 queue_unavailable.
func (g *Gateway) Jobs() *jobs.Queue { return g.jobs }

// deferCall stores call as a queued job, after the same checks an inline
// request would fail fast on (the client exists).
func (g *Gateway) deferCall(ctx context.Context, call Call) (*Result, error) {
	if g.jobs == nil {
		return nil, jobs.ErrNoQueue
	}
	c, err := g.client(call)
	if err != nil {
		return nil, err
	}
	if call.Op == OpSQL && call.Client == "" {
		call.Client = c.spec.Name
	}
	return g.jobs.Enqueue(ctx, call, c.spec.Name)
}

// Do runs one operation and buffers its reply.
//
// A call with Defer set is stored as a job instead and answered with a
// Result whose Deferred is set (HTTP 202). Admission control
// (core/admission.go) may refuse a call (rate_limited) or defer it.
func (g *Gateway) Do(ctx context.Context, call Call) (res *Result, err error) {
	ctx, tr, err := g.begin(ctx, &call) // API keys, frozen clients (core/stats.go)
	defer func() { g.finish(tr, err) }()
	if err != nil {
		return nil, err
	}
	asked := call.Defer
	call, v, err := g.admit(ctx, call, false)
	if err != nil {
		return nil, err
	}
	if call.Defer && !asked {
		return g.deferOverLimit(ctx, call, v)
	}
	if call.Defer {
		return g.deferCall(ctx, call)
	}
	return g.run(ctx, call)
}

// run executes a call inline, under the client's statement timeout.
func (g *Gateway) run(ctx context.Context, call Call) (*Result, error) {
	c, err := g.client(call)
	if err != nil {
		return nil, err
	}
	timeout := c.timeout
	if call.Timeout > 0 && call.Timeout < timeout {
		timeout = call.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := g.do(ctx, c, call)
	return res, vocab.Classify(ctx, err)
}

func (g *Gateway) do(ctx context.Context, c *client, call Call) (*Result, error) {
	switch call.Op {
	case OpFetch:
		return g.fetch(ctx, c, call)
	case OpInsert:
		return g.insert(ctx, c, call)
	case OpUpdate:
		return g.update(ctx, c, call)
	case OpDelete:
		return g.delete(ctx, c, call)
	case OpQuery, OpSQL:
		return g.query(ctx, c, call)
	}
	return nil, Errorf(CodeBadRequest, "unknown operation %q", vocab.Truncate(string(call.Op), 32))
}

// client resolves the call's client, including /query/sql's db_name.
func (g *Gateway) client(call Call) (*client, error) {
	name := call.Client
	if call.Op == OpSQL {
		if q, err := request.DecodeQuery(call.Body); err == nil && q.DBName != "" {
			name = q.DBName
		}
	}
	if name == "" {
		if call.Op == OpSQL {
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

func (g *Gateway) stripNulls(call Call, body *bool) bool {
	if body != nil {
		return *body
	}
	return call.StripNulls != nil && *call.StripNulls
}

func (g *Gateway) planFetch(ctx context.Context, c *client, call Call, streamed bool) (*FetchPlan, *request.FetchRequest, error) {
	r, err := request.DecodeFetch(call.Body)
	if err != nil {
		return nil, nil, err
	}
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, nil, err
	}
	p := &FetchPlan{Table: t}
	if p.Columns, err = c.planColumns(ctx, t, r.Columns, "columns"); err != nil {
		return nil, nil, err
	}
	if p.Where, err = c.planConds(ctx, t, r.Conditions); err != nil {
		return nil, nil, err
	}
	if r.Sort != nil {
		col, err := c.column(ctx, t, r.Sort.Column)
		if err != nil {
			return nil, nil, vocab.Prefixed(err, "field sort_by: ")
		}
		p.Sort = []Sort{{Column: col, Desc: r.Sort.Desc}}
	}
	if r.Limit != nil {
		if !streamed && *r.Limit > int64(g.cfg.MaxRows) {
			return nil, nil, Errorf(CodeBadRequest, "field limit: %d exceeds the maximum of %d rows per reply; page with offset or stream the result", *r.Limit, g.cfg.MaxRows)
		}
		p.Limit = *r.Limit
	}
	if r.Offset != nil {
		p.Offset = *r.Offset
	}
	if err := c.resolvePost(ctx, t, &r.Post); err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

func (g *Gateway) fetch(ctx context.Context, c *client, call Call) (*Result, error) {
	p, r, err := g.planFetch(ctx, c, call, false)
	if err != nil {
		return nil, err
	}
	strip := g.stripNulls(call, r.StripNulls)
	capped := false
	if p.Limit == 0 {
		// Read one row past the cap to know whether the reply was cut.
		p.Limit = int64(g.cfg.MaxRows) + 1
		capped = true
	}
	key := cacheKey(c.spec.Name, p, strip, r.Post, g.cfg.CamelCaseReplies)
	run := func(ctx context.Context) (*Result, error) {
		res, err := g.runFetch(ctx, c, p, capped, r.Post, strip)
		if res != nil {
			res.CacheKey = key
		}
		return res, err
	}
	if g.cache == nil {
		return run(ctx)
	}
	return g.cache.Fetch(ctx, c.spec.Name, p.Table.Name, key, call.NoCache, call.NoStore, run)
}

// runFetch reads a fetch's rows from the database and shapes the reply.
// capped says that p.Limit is the row cap plus one.
func (g *Gateway) runFetch(ctx context.Context, c *client, p *FetchPlan, capped bool, post request.PostProcessing, strip bool) (*Result, error) {
	rows, err := c.backend.Fetch(ctx, p)
	if err != nil {
		return nil, err
	}
	rs, truncated, err := collect(rows, g.cfg.MaxRows, strip)
	if err != nil {
		return nil, err
	}
	truncated = truncated && capped
	n := int64(len(rs.Rows))
	res := &Result{Message: fmt.Sprintf("Fetched %d %s", n, vocab.Plural(n, "row")), Data: rs}
	pp, err := g.shape(rs, post)
	if err != nil {
		return nil, err
	}
	if pp != nil {
		res.PostProcessing = pp
	}
	if truncated {
		res.Meta = &Meta{Truncated: true, ReturnedRowCount: &n}
	}
	return res, nil
}

// shape applies post-processing and reply casing to rows. It returns the
// post_processing member, nil when the request did not set group_by.
func (g *Gateway) shape(rs *RowSet, post request.PostProcessing) (*PostProcessed, error) {
	var spec *postSpec
	if post.GroupBy != "" {
		var err error
		if spec, err = resolvePost(post, rs.Columns); err != nil {
			return nil, err
		}
	}
	if g.cfg.CamelCaseReplies {
		rs.Columns = camelColumns(rs.Columns)
	}
	if spec == nil {
		return nil, nil
	}
	if spec.agg >= 0 {
		spec.aggName = rs.Columns[spec.agg]
	}
	return postProcess(rs, spec)
}

// collect drains rows into a RowSet, keeping at most max rows; truncated
// reports that more rows were available.
func collect(rows Rows, max int, strip bool) (*RowSet, bool, error) {
	defer rows.Close()
	rs := &RowSet{Columns: rows.Columns(), Rows: [][]any{}, StripNulls: strip}
	truncated := false
	for rows.Next() {
		if len(rs.Rows) >= max {
			truncated = true
			break
		}
		vals := rows.Values()
		cp := make([]any, len(vals))
		copy(cp, vals)
		rs.Rows = append(rs.Rows, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return rs, truncated, nil
}

// cacheKey identifies a fetch by everything that changes its reply.
func cacheKey(client string, p *FetchPlan, strip bool, post request.PostProcessing, camel bool) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	cols := make([]string, len(p.Columns))
	for i, c := range p.Columns {
		cols[i] = c.Name
	}
	parts := []any{client, p.Table.Name, cols, condKey(p.Where), sortKey(p.Sort), p.Limit, p.Offset, strip}
	// Appended only when set, so plain fetches keep the keys they had.
	if post.GroupBy != "" {
		parts = append(parts, post)
	}
	if camel {
		parts = append(parts, "camel")
	}
	_ = enc.Encode(parts)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func condKey(cs []Cond) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		col := ""
		if c.Column != nil {
			col = c.Column.Name
		}
		out[i] = []any{c.Not, col, c.Op, c.Value, condKey(c.And), condKey(c.Or)}
	}
	return out
}

func sortKey(s []Sort) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = []any{x.Column.Name, x.Desc}
	}
	return out
}

func (g *Gateway) insert(ctx context.Context, c *client, call Call) (*Result, error) {
	r, err := request.DecodeInsert(call.Body)
	if err != nil {
		return nil, err
	}
	if len(r.Rows) > g.cfg.MaxInsertRows {
		return nil, Errorf(CodeBadRequest, "field insert_body: at most %d rows per insert, got %d", g.cfg.MaxInsertRows, len(r.Rows))
	}
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	if t.View {
		return nil, Errorf(CodeBadRequest, "table %q is a view; insert into its base table", t.Name)
	}
	p, err := c.planInsert(ctx, t, r)
	if err != nil {
		return nil, err
	}
	rs, _, err := g.write(ctx, c, p, g.stripNulls(call, nil))
	if err != nil {
		return nil, err
	}
	g.invalidate(ctx, c, t.Name)
	_, _ = g.shape(rs, request.PostProcessing{})
	n := int64(len(rs.Rows))
	return &Result{Message: fmt.Sprintf("Inserted %d %s", n, vocab.Plural(n, "row")), Data: rs}, nil
}

// write runs a write plan and collects every returned row: writes are not
// capped, so the reply always shows what changed.
func (g *Gateway) write(ctx context.Context, c *client, p *WritePlan, strip bool) (*RowSet, int64, error) {
	rows, err := c.backend.Write(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	rs := &RowSet{Columns: rows.Columns(), Rows: [][]any{}, StripNulls: strip}
	for rows.Next() {
		vals := rows.Values()
		cp := make([]any, len(vals))
		copy(cp, vals)
		rs.Rows = append(rs.Rows, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	rows.Close()
	affected := rows.Affected()
	if affected < int64(len(rs.Rows)) {
		affected = int64(len(rs.Rows))
	}
	return rs, affected, nil
}

func (g *Gateway) update(ctx context.Context, c *client, call Call) (*Result, error) {
	r, err := request.DecodeUpdate(call.Body)
	if err != nil {
		return nil, err
	}
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	p := &WritePlan{Kind: WriteUpdate, Table: t}
	if p.Set, err = c.planAssign(ctx, t, r.Set, "update_body"); err != nil {
		return nil, err
	}
	if p.Where, err = c.planConds(ctx, t, r.Conditions); err != nil {
		return nil, err
	}
	if p.Returning, err = c.planColumns(ctx, t, r.Returning, "columns"); err != nil {
		return nil, err
	}
	if err := c.resolvePost(ctx, t, &r.Post); err != nil {
		return nil, err
	}
	if r.Post.GroupBy != "" {
		// Check before writing: a reply that cannot be grouped must not
		// cost an update.
		names := make([]string, len(p.Returning))
		for i, col := range p.Returning {
			names[i] = col.Name
		}
		if _, err := resolvePost(r.Post, names); err != nil {
			return nil, err
		}
	}
	rs, n, err := g.write(ctx, c, p, g.stripNulls(call, r.StripNulls))
	if err != nil {
		return nil, err
	}
	g.invalidate(ctx, c, t.Name)
	res := &Result{Message: fmt.Sprintf("Updated %d %s", n, vocab.Plural(n, "row")), Data: &Mutation{AffectedRows: n, Rows: rs}}
	post, err := g.shape(rs, r.Post)
	if err != nil {
		// The update committed; say so rather than fail the whole reply.
		return nil, Wrap(CodeBadRequest, fmt.Sprintf("the update of %d %s committed, but its rows could not be post-processed: %s", n, vocab.Plural(n, "row"), PublicMessage(err)), err)
	}
	if post != nil {
		res.PostProcessing = post
	}
	return res, nil
}

func (g *Gateway) delete(ctx context.Context, c *client, call Call) (*Result, error) {
	r, err := request.DecodeDelete(call.Body)
	if err != nil {
		return nil, err
	}
	t, err := c.table(ctx, r.Table)
	if err != nil {
		return nil, err
	}
	p := &WritePlan{Kind: WriteDelete, Table: t}
	if r.ResourceID != nil {
		rc, err := resourceCond(t, r.ResourceID)
		if err != nil {
			return nil, err
		}
		p.Where = append(p.Where, rc)
	}
	conds, err := c.planConds(ctx, t, r.Conditions)
	if err != nil {
		return nil, err
	}
	p.Where = append(p.Where, conds...)
	if p.Returning, err = c.planColumns(ctx, t, r.Returning, "columns"); err != nil {
		return nil, err
	}
	rs, n, err := g.write(ctx, c, p, g.stripNulls(call, nil))
	if err != nil {
		return nil, err
	}
	g.invalidate(ctx, c, t.Name)
	_, _ = g.shape(rs, request.PostProcessing{})
	return &Result{Message: fmt.Sprintf("Deleted %d %s", n, vocab.Plural(n, "row")), Data: &Mutation{AffectedRows: n, Rows: rs}}, nil
}

// driverKinds maps /query/sql drivers to backend kinds.
var driverKinds = map[string]string{
	"postgresql": "postgresql", "postgres": "postgresql", "pg": "postgresql",
	"sqlite": "sqlite", "athena": "scylla", "scylla": "scylla", "cassandra": "scylla",
}

func (g *Gateway) checkDriver(c *client, call Call, q *request.QueryRequest) error {
	if call.Op != OpSQL {
		return nil
	}
	if q.Driver == "" {
		return Errorf(CodeBadRequest, "field driver: required (postgresql, sqlite, athena or scylla)")
	}
	kind, ok := driverKinds[strings.ToLower(q.Driver)]
	if !ok {
		return Errorf(CodeBadRequest, "field driver: unknown driver %q (postgresql, sqlite, athena or scylla)", vocab.Truncate(q.Driver, 32))
	}
	if kind != c.backend.Kind() {
		return Errorf(CodeBadRequest, "field driver: client %q is a %s backend, not %s", c.spec.Name, c.backend.Kind(), q.Driver)
	}
	return nil
}

func (g *Gateway) query(ctx context.Context, c *client, call Call) (*Result, error) {
	q, err := request.DecodeQuery(call.Body)
	if err != nil {
		return nil, err
	}
	if err := g.checkDriver(c, call, q); err != nil {
		return nil, err
	}
	// Raw SQL cannot be attributed to tables reliably (functions,
	// triggers, CTEs, DDL, several statements): it invalidates every table
	// of the client, even when it failed, since it may have written part
	// of its work.
	defer g.invalidate(ctx, c, "")
	rows, err := c.backend.Query(ctx, q.Query)
	if err != nil {
		return nil, err
	}
	rs, truncated, err := collect(rows, g.cfg.MaxRows, g.stripNulls(call, nil))
	if err != nil {
		return nil, err
	}
	_, _ = g.shape(rs, request.PostProcessing{})
	n := int64(len(rs.Rows))
	affected := rows.Affected()
	return &Result{
		Message: fmt.Sprintf("Query returned %d %s", n, vocab.Plural(n, "row")),
		Data:    rs,
		Meta:    &Meta{ReturnedRowCount: &n, RowsAffected: &affected, Truncated: truncated},
	}, nil
}

// Cursor streams a fetch or query row by row. It is not safe for concurrent
// use; Close must be called.
type Cursor struct {
	ctx   context.Context
	rows  Rows
	camel bool
	cols  []string // camelCase column names, computed on the first row
	// onClose runs once the cursor is closed (a raw query's invalidation).
	onClose func()
	// onDone records the stream's outcome (core/stats.go).
	onDone func(error)
	strip  bool
	cancel context.CancelFunc
	count  int64
}

// Stream runs a fetch or query and returns a cursor over its rows, read from
// the database only as fast as the caller consumes them. Streams have no
// statement timeout and no row cap: the caller's context (and Call.Timeout,
// when set) bounds them.
func (g *Gateway) Stream(ctx context.Context, call Call) (*Cursor, error) {
	ctx, tr, err := g.begin(ctx, &call)
	if err == nil {
		_, _, err = g.admit(ctx, call, true) // a stream is never deferred
	}
	if err != nil {
		g.finish(tr, err)
		return nil, err
	}
	cu, err := g.stream(ctx, call)
	if err != nil {
		g.finish(tr, err)
		return nil, err
	}
	cu.onDone = func(err error) { g.finish(tr, err) }
	return cu, nil
}

func (g *Gateway) stream(ctx context.Context, call Call) (*Cursor, error) {
	c, err := g.client(call)
	if err != nil {
		return nil, err
	}
	var cancel context.CancelFunc
	if call.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, call.Timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	var rows Rows
	var onClose func()
	strip := g.stripNulls(call, nil)
	switch call.Op {
	case OpFetch:
		var p *FetchPlan
		var r *request.FetchRequest
		p, r, err = g.planFetch(ctx, c, call, true)
		if err == nil {
			strip = g.stripNulls(call, r.StripNulls)
			rows, err = c.backend.Fetch(ctx, p)
		}
	case OpQuery, OpSQL:
		var q *request.QueryRequest
		if q, err = request.DecodeQuery(call.Body); err == nil {
			if err = g.checkDriver(c, call, q); err == nil {
				rows, err = c.backend.Query(ctx, q.Query)
				onClose = func() { g.invalidate(ctx, c, "") }
			}
		}
	default:
		err = Errorf(CodeBadRequest, "operation %s cannot stream", call.Op)
	}
	if err != nil {
		if onClose != nil {
			onClose()
		}
		cancel()
		return nil, vocab.Classify(ctx, err)
	}
	return &Cursor{ctx: ctx, rows: rows, strip: strip, cancel: cancel, camel: g.cfg.CamelCaseReplies, onClose: onClose}, nil
}

// Next advances to the next row.
func (cu *Cursor) Next() bool {
	if cu.rows.Next() {
		cu.count++
		return true
	}
	return false
}

// AppendRow appends the current row as a JSON object.
func (cu *Cursor) AppendRow(buf []byte) []byte {
	if cu.camel && cu.cols == nil {
		cu.cols = camelColumns(cu.rows.Columns())
	}
	cols := cu.cols
	if cols == nil {
		cols = cu.rows.Columns()
	}
	return AppendRow(buf, cols, cu.rows.Values(), cu.strip)
}

// Count is the number of rows read so far.
func (cu *Cursor) Count() int64 { return cu.count }

// Err reports the error that ended iteration, classified like Do's errors.
func (cu *Cursor) Err() error { return vocab.Classify(cu.ctx, cu.rows.Err()) }

// Close releases the cursor and its database resources.
func (cu *Cursor) Close() {
	cu.rows.Close()
	if cu.onClose != nil {
		cu.onClose()
		cu.onClose = nil
	}
	if cu.onDone != nil {
		cu.onDone(cu.Err())
		cu.onDone = nil
	}
	cu.cancel()
}

// WriteNDJSON writes every row of cu as one JSON object per line, flushing
// through flush (which may be nil) every so often.
func (cu *Cursor) WriteNDJSON(w io.Writer, flush func()) error {
	buf := make([]byte, 0, 4096)
	for cu.Next() {
		buf = cu.AppendRow(buf)
		buf = append(buf, '\n')
		if len(buf) >= 32<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			if flush != nil {
				flush()
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if flush != nil {
		flush()
	}
	return cu.Err()
}

// invalidate drops the cached reads of a client's table ("" for all of its
// tables) on every node, after a write.
func (g *Gateway) invalidate(ctx context.Context, c *client, table string) {
	if g.cache != nil {
		g.cache.Invalidate(ctx, c.spec.Name, table)
	}
}
