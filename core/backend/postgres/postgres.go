package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures a Backend.
type Config struct {
	// URI is the PostgreSQL connection string (postgres://... or key=value).
	// Required. It never appears in errors or logs.
	URI string
	// MaxConns caps the pool. Zero means pgxpool's default: the greater of 4
	// and the number of CPUs. A max_conns parameter in URI wins over both.
	MaxConns int32
	// Logger receives lifecycle messages. Nil discards them.
	Logger *slog.Logger

	// tracer sees the statements pgx runs (tests).
	tracer pgx.QueryTracer
}

// Backend is a PostgreSQL database behind a pgx pool. It is safe for
// concurrent use; Close it when done.
type Backend struct {
	pool *pgxpool.Pool
	// stmts is what each pooled connection has prepared (prepared.go).
	stmts *stmtCache
	// pipe sends fetches waiting for a connection together (pipeline.go);
	// nil with fetch_pipeline=off.
	pipe *pipeliner
	// slotFreeFn is b.slotFree, made once: a method value made per fetch
	// is an allocation per fetch.
	slotFreeFn func()
	// replConfig connects the change feed (replication.go): the pool's
	// settings with replication=database.
	replConfig *pgconn.Config
	log        *slog.Logger
	closeOnce  sync.Once

	// feedMu guards feedCtx and feedStop: the context of the change feeds
	// StartChangeFeed runs (replication.go), cancelled by Close, which then
	// waits for feeds.
	feedMu     sync.Mutex
	feedCtx    context.Context
	feedStop   context.CancelFunc
	feedClosed bool
	feeds      sync.WaitGroup
}

// sessionParams are set on every connection: the decoders rely on them
// (ISO dates, UTC timestamps, hex bytea, postgres interval style).
var sessionParams = map[string]string{
	"timezone":      "UTC",
	"datestyle":     "ISO, YMD",
	"intervalstyle": "postgres",
	"bytea_output":  "hex",
}

// New builds the pool. It does not connect: a database that is down now
// does not stop the gateway from starting, and Ping reports it unhealthy.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.URI == "" {
		return nil, errors.New("postgres: URI is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URI)
	if err != nil {
		// Deliberately not %w: the error's text and its cause quote the
		// connection string, which may hold a password.
		return nil, fmt.Errorf("postgres: parse URI: %s", parseMessage(err))
	}
	if cfg.MaxConns > 0 && !hasParam(cfg.URI, "pool_max_conns") {
		pcfg.MaxConns = cfg.MaxConns
	}
	cc := pcfg.ConnConfig
	pipelined, err := pipeEnabled(cc.RuntimeParams)
	if err != nil {
		return nil, err
	}
	// Exec mode: one round trip, parameters sent as text with unknown type
	// (the server parses each as the type the statement needs) and results
	// in text format. Fetches add a statement cache of their own with the
	// same encoding (prepared.go).
	cc.DefaultQueryExecMode = pgx.QueryExecModeExec
	if cfg.tracer != nil {
		cc.Tracer = cfg.tracer
	}
	for k, v := range sessionParams {
		cc.RuntimeParams[k] = v
	}
	if cc.RuntimeParams["application_name"] == "" {
		cc.RuntimeParams["application_name"] = "athena"
	}
	// A cancelled ctx sends a CancelRequest so the server stops the query,
	// and the connection stays usable; the deadline is the fallback when the
	// server does not answer.
	cc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 3 * time.Second}
	}
	rc := cc.Config.Copy()
	// The feed waits for messages with a deadline: a passing deadline must
	// interrupt the read, not send a CancelRequest (which ends the
	// replication stream).
	rc.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	rc.RuntimeParams["replication"] = "database"
	rc.RuntimeParams["application_name"] = "athena_live"
	// statement_cache_capacity=0 in the URI (pgx's own switch) turns the
	// fetches' prepared statements off, for a pooler in transaction mode
	// that cannot keep a session's statements.
	stmts := &stmtCache{off: hasParam(cfg.URI, "statement_cache_capacity") && cc.StatementCacheCapacity == 0}
	pcfg.BeforeClose = func(c *pgx.Conn) { stmts.forget(c.PgConn()) }
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool: %w", err)
	}
	b := &Backend{pool: pool, stmts: stmts, replConfig: rc, log: cfg.Logger.With("component", "postgres")}
	if pipelined {
		b.pipe = &pipeliner{max: int(pcfg.MaxConns)}
		b.slotFreeFn = b.slotFree
	}
	return b, nil
}

// parseMessage is pgx's reason for rejecting a connection string, without
// the string itself or the cause (a url.Error quotes the raw URL).
func parseMessage(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "invalid connection string"
	}
	s := pe.Error()
	if cause := pe.Unwrap(); cause != nil {
		s = strings.TrimSuffix(s, " ("+cause.Error()+")")
	}
	if i := strings.LastIndex(s, "`: "); i >= 0 {
		return s[i+3:]
	}
	return "invalid connection string"
}

// hasParam reports whether a URI or key=value string sets key.
func hasParam(uri, key string) bool { return strings.Contains(uri, key+"=") }

// Kind is "postgresql".
func (b *Backend) Kind() string { return "postgresql" }

// Ping checks that a connection can be had and answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.pool.Ping(ctx); err != nil {
		return mapError(ctx, fmt.Errorf("postgres: ping: %w", err))
	}
	return nil
}

// Close closes the pool, waiting for borrowed connections to come back. It
// is idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.feedMu.Lock()
		b.feedClosed = true
		if b.feedStop != nil {
			b.feedStop()
		}
		b.feedMu.Unlock()
		b.feeds.Wait() // the feeds use the pool
		b.pool.Close()
	})
	return nil
}

// Fetch runs a select and streams its rows.
func (b *Backend) Fetch(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	if p != nil && p.Aggregate != nil {
		return b.fetchAggregate(ctx, p)
	}
	st, err := sqlq.Select(sqlq.Postgres, p)
	if err != nil {
		return nil, fmt.Errorf("postgres: fetch: %w", err)
	}
	// A plan with a limit has a bounded result (every non-streamed fetch
	// has one: the row cap plus one), which a pipeline may hold in memory.
	r, err := b.fetchRows(ctx, st.SQL, st.Args, p.Columns, p.Limit > 0)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: fetch %s: %w", p.Table.Name, err))
	}
	return r, nil
}

// Write runs an insert, update or delete and streams the RETURNING rows.
// The plan is always one statement (sqlq.Write), so it runs in the
// implicit transaction of its own Sync, atomic as an explicit one: it
// commits when the statement completes (deferred constraints checked
// then) and an error at any point rolls all of it back. One round trip,
// where BEGIN / statement / COMMIT took three. Close drains the RETURNING
// rows (they are few): Affected is known only then.
func (b *Backend) Write(ctx context.Context, p *core.WritePlan) (core.Rows, error) {
	st, err := sqlq.Write(sqlq.Postgres, p)
	if err != nil {
		return nil, fmt.Errorf("postgres: write: %w", err)
	}
	finish := func(err error) error {
		if err != nil {
			return fmt.Errorf("postgres: write %s: %w", p.Table.Name, err)
		}
		return nil
	}
	rs, err := b.pool.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, mapError(ctx, finish(err))
	}
	r, err := newRows(ctx, rs, p.Returning, true, finish)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Query runs raw SQL text over the simple protocol, so scripts of several
// statements (DDL included) work; see queryRows for what the cursor holds.
// The script is classified statement by statement first (script.go). When
// it is done, a transaction it left open is rolled back and the query fails
// with CodeForbiddenStatement (nothing it did in that transaction is kept),
// and the session is reset (DISCARD ALL: settings, temp tables, prepared
// statements, cursors, LISTEN, advisory locks) before the connection goes
// back to the pool, or the connection is closed; nothing reaches the next
// caller.
func (b *Backend) Query(ctx context.Context, query string) (core.Rows, error) {
	return b.QueryBounded(ctx, query, 0)
}

// QueryBounded is Query refusing with reply_too_large, before it is read,
// a row whose message from the server is longer than twice maxValue bytes
// (plus 64 KiB), when maxValue is positive: no value's JSON is shorter than
// half its text on the wire (bytea's hex against base64), so a row that
// fits the reply is never refused, and one far over it never reaches
// memory. A refused row costs the connection (the protocol cannot skip a
// message); the pool opens another.
func (b *Backend) QueryBounded(ctx context.Context, query string, maxValue int) (core.Rows, error) {
	if err := classify(query); err != nil {
		return nil, err
	}
	return b.run(ctx, query, maxValue)
}

// defaultMaxBodyLen is pgproto3's own limit on a message (~1 GiB, the
// server's), which a bounded query's connection gets back.
const defaultMaxBodyLen = 0x3fffffff - 1

// run runs a classified script; see Query and QueryBounded.
func (b *Backend) run(ctx context.Context, query string, maxValue int) (core.Rows, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("postgres: query: %w", err))
	}
	maxBody := 0
	if maxValue > 0 && maxValue < (defaultMaxBodyLen-64<<10)/2 {
		maxBody = 2*maxValue + 64<<10
		conn.Conn().PgConn().Frontend().SetMaxBodyLen(maxBody)
	}
	release := func(err error) error {
		pc := conn.Conn().PgConn()
		var tooBig *pgproto3.ExceededMaxBodyLenErr
		if maxBody > 0 && errors.As(err, &tooBig) {
			err = core.Wrap(core.CodeReplyTooLarge, fmt.Sprintf("a row of the result is larger than the reply byte cap of %d bytes; stream the result (Accept: application/x-ndjson, or stream: true on the socket)", maxValue), err)
		}
		if maxBody > 0 && !pc.IsClosed() {
			pc.Frontend().SetMaxBodyLen(defaultMaxBodyLen)
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if !pc.IsClosed() && pc.TxStatus() != 'I' {
			// 'T': the script left a transaction open; 'E': it failed
			// inside one (its error is already err).
			if pc.TxStatus() == 'T' && err == nil {
				err = leftOpenRolledBack()
			}
			if _, rerr := pc.Exec(rctx, "ROLLBACK").ReadAll(); rerr != nil {
				_ = conn.Conn().Close(rctx) // the pool drops a closed connection
			}
		}
		if !pc.IsClosed() && pc.TxStatus() == 'I' {
			if _, derr := pc.Exec(rctx, "DISCARD ALL").ReadAll(); derr != nil {
				_ = conn.Conn().Close(rctx)
			}
			b.stmts.forget(pc)
		}
		// A connection still inside a transaction is destroyed by the pool.
		conn.Release()
		return err
	}
	// The gateway's prepared fetches are not the script's to EXECUTE.
	if err := b.stmts.clear(ctx, conn.Conn().PgConn()); err != nil {
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
		return nil, mapError(ctx, fmt.Errorf("postgres: query: %w", err))
	}
	q := &queryRows{ctx: ctx, mrr: conn.Conn().PgConn().Exec(ctx, query), release: release}
	if err := q.start(); err != nil {
		return nil, fmt.Errorf("postgres: query: %w", err)
	}
	return q, nil
}

var (
	_ core.Backend    = (*Backend)(nil)
	_ core.Pinger     = (*Backend)(nil)
	_ core.Closer     = (*Backend)(nil)
	_ core.ChangeFeed = (*Backend)(nil)

	_ core.BoundedQuerier = (*Backend)(nil)
)
