package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/sqlq"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
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
	writeSem  chan struct{}
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
		"&_pragma=foreign_keys(1)&_pragma=case_sensitive_like(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
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
	out := &bufRows{}
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

// Query runs raw SQL text. Text that does not look read-only takes the write
// token for the cursor's lifetime.
func (b *Backend) Query(ctx context.Context, query string) (_ core.Rows, err error) {
	locked := false
	if !readOnly(query) {
		if err := b.lockWrite(ctx); err != nil {
			return nil, fmt.Errorf("sqlite: wait for write lock: %w", err)
		}
		locked = true
	}
	conn, err := b.db.Conn(ctx)
	if err != nil {
		if locked {
			b.unlockWrite()
		}
		return nil, mapError(ctx, fmt.Errorf("sqlite: query: %w", err))
	}
	release := func() {
		conn.Close()
		if locked {
			b.unlockWrite()
		}
	}
	var before int64
	if err := conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		release()
		return nil, mapError(ctx, fmt.Errorf("sqlite: query: %w", err))
	}
	rs, err := conn.QueryContext(ctx, query)
	if err != nil {
		release()
		return nil, mapError(ctx, fmt.Errorf("sqlite: query: %w", err))
	}
	r := newRows(ctx, rs, func(r *rows) {
		var after int64
		if r.err == nil {
			if err := conn.QueryRowContext(context.WithoutCancel(ctx), "SELECT total_changes()").Scan(&after); err == nil {
				r.affected = after - before
			}
		}
		release()
	})
	return r, nil
}

// readOnly reports whether query starts with a keyword that cannot write.
func readOnly(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	i := strings.IndexFunc(q, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if i >= 0 {
		q = q[:i]
	}
	switch strings.ToUpper(q) {
	case "SELECT", "VALUES", "EXPLAIN":
		return true
	}
	return false
}

var (
	_ core.Backend = (*Backend)(nil)
	_ core.Pinger  = (*Backend)(nil)
	_ core.Closer  = (*Backend)(nil)
)
