package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Config configures a Backend.
type Config struct {
	// Path is the database file. Its parent directories are created. It must
	// not contain '?'. Required.
	Path string
	// Logger receives lifecycle messages. Nil discards them.
	Logger *slog.Logger
}

// Backend is a SQLite database. It is safe for concurrent use; Close it when
// done.
type Backend struct {
	db  *sql.DB
	log *slog.Logger
	// writeSem serialises writers: a token is held for a write's duration.
	writeSem chan struct{}
	// waiting counts callers blocked on writeSem (tests wait on it).
	waiting   atomic.Int32
	closeOnce sync.Once
	closeErr  error
}

// New opens the database at cfg.Path, creating the file and its parent
// directories when missing, and checks that it can be read.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: path is required")
	}
	if strings.ContainsAny(cfg.Path, "?#") {
		return nil, errors.New("sqlite: path must not contain '?' or '#'")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create parent directories: %w", err)
		}
	}
	dsn := cfg.Path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_txlock=immediate&_defensive=1"
	base, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	db := sql.OpenDB(connector{base})
	b := &Backend{db: db, log: cfg.Logger.With("component", "sqlite"), writeSem: make(chan struct{}, 1)}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", filepath.Base(cfg.Path), err)
	}
	return b, nil
}

// Kind is "sqlite".
func (b *Backend) Kind() string { return "sqlite" }

// Ping checks that the database answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.db.PingContext(ctx); err != nil {
		return mapError(ctx, fmt.Errorf("sqlite: ping: %w", err))
	}
	return nil
}

// Close closes the pool. It is idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.db.Close() })
	return b.closeErr
}

// lockWrite takes the write token, or fails when ctx ends first.
func (b *Backend) lockWrite(ctx context.Context) error {
	select {
	case b.writeSem <- struct{}{}:
		return nil
	default:
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	select {
	case b.writeSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Backend) unlockWrite() { <-b.writeSem }

// Fetch runs a select and streams its rows.
func (b *Backend) Fetch(ctx context.Context, p *core.FetchPlan) (core.Rows, error) {
	if p != nil && p.Aggregate != nil {
		return b.fetchAggregate(ctx, p)
	}
	st, err := sqlq.Select(sqlq.SQLite, p)
	if err != nil {
		return nil, fmt.Errorf("sqlite: fetch: %w", err)
	}
	rs, err := b.db.QueryContext(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("sqlite: fetch %s: %w", p.Table.Name, err))
	}
	return newRows(ctx, rs, nil), nil
}

// Write runs an insert, update or delete in one transaction under the write
// token, buffers the RETURNING rows and commits before returning them.
func (b *Backend) Write(ctx context.Context, p *core.WritePlan) (_ core.Rows, err error) {
	if p == nil || p.Table == nil {
		return nil, errors.New("sqlite: write: plan without table")
	}
	plans := sqlq.SplitDefaults(p)
	stmts := make([]sqlq.Stmt, 0, len(plans))
	for _, q := range plans {
		st, err := sqlq.Write(sqlq.SQLite, q)
		if err != nil {
			return nil, fmt.Errorf("sqlite: write: %w", err)
		}
		stmts = append(stmts, st)
	}
	if err := b.lockWrite(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: wait for write lock: %w", err)
	}
	defer b.unlockWrite()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapError(ctx, fmt.Errorf("sqlite: begin: %w", err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback() // the write already failed; its error is the one to report
		}
	}()
	out := &bufRows{keepRows: p.ReturnRows, keepBytes: p.ReturnBytes}
	for _, st := range stmts {
		if len(p.Returning) == 0 {
			res, err := tx.ExecContext(ctx, st.SQL, st.Args...)
			if err != nil {
				return nil, mapError(ctx, fmt.Errorf("sqlite: write %s: %w", p.Table.Name, err))
			}
			n, _ := res.RowsAffected() // the driver always knows it
			out.affected += n
			continue
		}
		if err := out.collect(ctx, tx, st); err != nil {
			return nil, mapError(ctx, fmt.Errorf("sqlite: write %s: %w", p.Table.Name, err))
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, mapError(ctx, fmt.Errorf("sqlite: commit: %w", err))
	}
	if out.cols == nil {
		for _, c := range p.Returning {
			out.cols = append(out.cols, c.Name)
		}
	}
	return out, nil
}

// Query runs raw SQL text under the data-client policy (guard.go): the
// script is classified statement by statement (script.go) and takes the
// write token when any statement may write; it runs on a connection of its
// own whose authorizer refuses what the policy forbids, and a read-only
// script's connection refuses every write. When the cursor closes, a
// transaction the script left open is rolled back and the query fails with
// CodeForbiddenStatement, and a connection that holds temp objects is
// discarded rather than pooled, so nothing the script did to the session
// reaches the next caller.
func (b *Backend) Query(ctx context.Context, query string) (core.Rows, error) {
	return b.QueryBounded(ctx, query, 0)
}

// QueryBounded is Query under SQLite's own length limit
// (SQLITE_LIMIT_LENGTH = maxValue when positive): a string, blob or row
// longer than maxValue bytes is refused with reply_too_large by the engine
// before it is built, so a value too large for the reply never reaches
// memory (zeroblob(1e9) allocates nothing). The connection gets its limit
// back before it returns to the pool.
func (b *Backend) QueryBounded(ctx context.Context, query string, maxValue int) (core.Rows, error) {
	write, err := classify(query)
	if err != nil {
		return nil, err
	}
	return b.run(ctx, query, write, maxValue)
}

// run runs a classified script; see Query and QueryBounded.
func (b *Backend) run(ctx context.Context, query string, write bool, maxValue int) (_ core.Rows, err error) {
	if write {
		if err := b.lockWrite(ctx); err != nil {
			return nil, fmt.Errorf("sqlite: wait for write lock: %w", err)
		}
	}
	conn, err := b.db.Conn(ctx)
	if err != nil {
		if write {
			b.unlockWrite()
		}
		return nil, mapError(ctx, fmt.Errorf("sqlite: query: %w", err))
	}
	g := &guard{readOnly: !write}
	prevLength := -1
	release := func(err error) error {
		err = tooBig(err, maxValue)
		if prevLength >= 0 {
			if _, lerr := msqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, prevLength); lerr != nil {
				// Never pool a connection whose limit is unknown.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
		err = b.settle(ctx, conn, g, err)
		if write {
			b.unlockWrite()
		}
		return err
	}
	if err := conn.Raw(func(dc any) error { return setAuthorizer(dc, g.authorize) }); err != nil {
		return nil, release(fmt.Errorf("sqlite: query: %w", err))
	}
	// SQLite itself refuses to attach: the engine-level lock beside the
	// authorizer.
	if _, err := msqlite.Limit(conn, sqlite3.SQLITE_LIMIT_ATTACHED, 0); err != nil {
		return nil, release(fmt.Errorf("sqlite: query: limit attached: %w", err))
	}
	if maxValue > 0 {
		if prevLength, err = msqlite.Limit(conn, sqlite3.SQLITE_LIMIT_LENGTH, maxValue); err != nil {
			prevLength = -1
			return nil, release(fmt.Errorf("sqlite: query: limit length: %w", err))
		}
	}
	var before int64
	if err := conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		return nil, release(mapError(ctx, fmt.Errorf("sqlite: query: %w", err)))
	}
	rs, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, release(mapError(ctx, fmt.Errorf("sqlite: query: %w", err)))
	}
	r := newRows(ctx, rs, func(r *rows) {
		r.stopWatch()
		var after int64
		if r.err == nil {
			if err := conn.QueryRowContext(context.WithoutCancel(ctx), "SELECT total_changes()").Scan(&after); err == nil {
				r.affected = after - before
			}
		}
		r.err = release(r.err)
	})
	// The statement timeout ends the script even while the caller is
	// blocked elsewhere (a stream to a slow reader): the cursor closes
	// itself, which gives back the connection and the write token.
	r.watch(ctx)
	return r, nil
}

// settle ends a raw query's hold on conn and returns the query's final
// error: what the authorizer refused replaces the driver's "not
// authorized"; a transaction left open is rolled back, and refused when the
// query had not failed already; conn gets the baseline authorizer back and
// goes back to the pool, or is discarded when it holds temp objects or its
// state is unknown.
func (b *Backend) settle(ctx context.Context, conn *sql.Conn, g *guard, err error) error {
	if rerr := g.refusal(); rerr != nil {
		if err != nil {
			err = fmt.Errorf("%w: %w", rerr, err)
		} else {
			err = rerr
		}
	}
	ctx = context.WithoutCancel(ctx)
	discard := false
	if aerr := conn.Raw(func(dc any) error { return setAuthorizer(dc, baseline) }); aerr != nil {
		discard = true
	}
	txn, temp := g.state()
	if txn && !discard {
		// ROLLBACK succeeds only when a transaction is open.
		if _, rberr := conn.ExecContext(ctx, "ROLLBACK"); rberr == nil {
			if err == nil {
				err = leftOpenRolledBack()
			}
		} else if !strings.Contains(rberr.Error(), "no transaction is active") {
			discard = true
		}
	}
	if discard || temp {
		// database/sql closes a connection whose Raw callback reports
		// ErrBadConn instead of pooling it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	if cerr := conn.Close(); cerr != nil && !errors.Is(cerr, driver.ErrBadConn) && !errors.Is(cerr, sql.ErrConnDone) {
		b.log.Warn("close raw query connection", "err", cerr)
	}
	return err
}

// tooBig turns SQLite's "string or blob too big", met under the limit
// QueryBounded set, into reply_too_large.
func tooBig(err error, maxValue int) error {
	var se *msqlite.Error
	if maxValue <= 0 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_TOOBIG {
		return err
	}
	return core.Wrap(core.CodeReplyTooLarge, fmt.Sprintf("a value of the result is larger than the reply byte cap of %d bytes; stream the result (Accept: application/x-ndjson, or stream: true on the socket)", maxValue), err)
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Pinger  = (*Backend)(nil)
	_ core.Closer  = (*Backend)(nil)

	_ core.BoundedQuerier = (*Backend)(nil)
	_ core.Cutter         = (*bufRows)(nil)
)
