package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/athena-go/athena/core"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Prepared fetches. A statement sent unnamed is parsed and planned by the
// server on every execution; for a point fetch that was most of
// PostgreSQL's CPU per request (about three times what the same query
// costs a client that prepares it). A fetch whose SQL text a connection has
// already run once is therefore prepared on that connection and executed
// by name from then on, with exactly the semantics of the unnamed path:
// the statement is prepared with no parameter types (the server infers
// them, as it does for an unnamed statement), parameters go in text format
// and every result comes back in text format, encoded by pgx's
// ExtendedQueryBuilder as QueryExecModeExec encodes them.
//
// Bounds and hygiene:
//   - a connection keeps at most maxPrepared statements; past that it
//     deallocates them all and starts over, so memory on both sides is
//     bounded whatever the mix of queries (a text run once is never
//     prepared: dashboards repeat shapes, ad-hoc texts do not pay an extra
//     round trip);
//   - a raw script never sees them: Query deallocates a connection's
//     statements before running a script on it (a script could otherwise
//     EXECUTE them), and DISCARD ALL after it clears the server's side;
//   - DDL that changes a table's columns makes PostgreSQL refuse a
//     statement planned before it ("cached plan must not change result
//     type"): the statement is dropped and the fetch runs unnamed, once.

// maxPrepared bounds the statements one connection keeps; maxSeen bounds
// the texts it remembers having run once.
const (
	maxPrepared = 256
	maxSeen     = 1024
)

// connStmts is what one pooled connection has prepared. A connection is
// used by one caller at a time (it is acquired), so its state needs no
// lock; the map from connections to their state does.
type connStmts struct {
	names map[string]string   // SQL text → statement name
	seen  map[string]struct{} // texts run once, unnamed
	// prepared is set before the first Prepare is sent: the server may
	// hold statements of this connection from then on.
	prepared bool
	// resets counts the DEALLOCATE ALLs of a full cache: names looked up
	// before one are gone (a pipeline looks up several).
	resets int
	// eqb encodes the parameters of the connection's fetches, reused as
	// pgx reuses its own per connection (pgconn has sent them by the time
	// the connection is free again).
	eqb pgx.ExtendedQueryBuilder
}

// stmtCache tracks the prepared statements of every connection of a pool.
type stmtCache struct {
	conns sync.Map // *pgconn.PgConn → *connStmts
	next  atomic.Uint64
	off   bool // never prepare (statement_cache_capacity=0)
}

func (s *stmtCache) of(pc *pgconn.PgConn) *connStmts {
	if v, ok := s.conns.Load(pc); ok {
		return v.(*connStmts)
	}
	cs := &connStmts{names: map[string]string{}, seen: map[string]struct{}{}}
	s.conns.Store(pc, cs)
	return cs
}

// forget drops a connection's entry: it is closing, or its session was
// reset (DISCARD ALL), which deallocated everything. A connection whose
// Prepare failed part way keeps its entry, so clear still deallocates
// whatever the server may hold.
func (s *stmtCache) forget(pc *pgconn.PgConn) { s.conns.Delete(pc) }

// clear deallocates every statement a connection prepared, before a raw
// script runs on it.
func (s *stmtCache) clear(ctx context.Context, pc *pgconn.PgConn) error {
	v, ok := s.conns.Load(pc)
	if !ok || !v.(*connStmts).prepared {
		return nil
	}
	s.conns.Delete(pc)
	_, err := pc.Exec(ctx, "DEALLOCATE ALL").ReadAll()
	return err
}

// statement returns the name of sql's prepared statement on pc (whose
// state is cs), preparing it when the connection has run the text before;
// "" means run it unnamed this time.
func (s *stmtCache) statement(ctx context.Context, pc *pgconn.PgConn, cs *connStmts, sql string) (string, error) {
	if s.off {
		return "", nil
	}
	if name, ok := cs.names[sql]; ok {
		return name, nil
	}
	if _, ok := cs.seen[sql]; !ok {
		if len(cs.seen) >= maxSeen {
			clear(cs.seen)
		}
		cs.seen[sql] = struct{}{}
		return "", nil
	}
	if len(cs.names) >= maxPrepared {
		if _, err := pc.Exec(ctx, "DEALLOCATE ALL").ReadAll(); err != nil {
			return "", err
		}
		clear(cs.names)
		cs.resets++
	}
	name := "athena_" + strconv.FormatUint(s.next.Add(1), 36)
	cs.prepared = true
	if _, err := pc.Prepare(ctx, name, sql, nil); err != nil {
		return "", err
	}
	delete(cs.seen, sql)
	cs.names[sql] = name
	return name, nil
}

// drop deallocates one statement that PostgreSQL refused to run again.
func (s *stmtCache) drop(ctx context.Context, pc *pgconn.PgConn, sql string) {
	cs := s.of(pc)
	if name, ok := cs.names[sql]; ok {
		delete(cs.names, sql)
		_ = pc.Deallocate(ctx, name) // if it fails, clear or the connection's end does it
	}
}

// staleStatement reports PostgreSQL's refusal of a statement planned
// before DDL changed its result's columns.
func staleStatement(err error) bool {
	if err == nil {
		return false // the usual case: no error value to look into
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000" && strings.Contains(pe.Message, "cached plan must not change result type")
}

// queryPrepared runs a fetch statement on a connection of the pool, by
// name when the connection has prepared it (see above), else unnamed. It
// returns the cursor over its rows; the connection goes back to the pool
// when the cursor ends, and then after, when set, runs (once).
func (b *Backend) queryPrepared(ctx context.Context, sql string, args []any, cols []*core.Column, after func()) (*rows, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		if after != nil {
			after()
		}
		return nil, err
	}
	// One allocation for what the cursor's end needs, instead of a closure
	// and the variables it shares with this function (issue #19).
	pr := &preparedRun{b: b, ctx: ctx, conn: conn, sql: sql, after: after}
	pc := conn.Conn().PgConn()
	cs := b.stmts.of(pc)
	eqb := &cs.eqb
	if err := eqb.Build(conn.Conn().TypeMap(), nil, args); err != nil {
		return nil, pr.release(err)
	}
	if pr.name, err = b.stmts.statement(ctx, pc, cs, sql); err != nil {
		// A connection the failure left unusable is closed, and the pool
		// drops it on release.
		return nil, pr.release(err)
	}
	var rr *pgconn.ResultReader
	if pr.name == "" {
		rr = pc.ExecParams(ctx, sql, eqb.ParamValues, nil, eqb.ParamFormats, nil)
	} else {
		rr = pc.ExecPrepared(ctx, pr.name, eqb.ParamValues, eqb.ParamFormats, nil)
	}
	pr.first = true
	r, err := newRows(ctx, pgx.RowsFromResultReader(conn.Conn().TypeMap(), rr), cols, false, pr.finish)
	pr.first = false
	if err != nil && pr.retrying {
		// Planned before DDL changed the table: run it unnamed, once.
		return b.queryPrepared(ctx, sql, args, cols, after)
	}
	return r, err
}

// preparedRun is one queryPrepared call, as its cursor's end needs it.
type preparedRun struct {
	b     *Backend
	ctx   context.Context
	conn  *pgxpool.Conn
	sql   string
	name  string // the statement's name; "" when it ran unnamed
	after func()
	// first is set while newRows reads the first row; retrying when that
	// row's error was a stale statement, which queryPrepared runs again
	// (so after is left to that run).
	first, retrying bool
}

// finish is the cursor's end: a stale statement is dropped, and the
// connection released.
func (pr *preparedRun) finish(err error) error {
	if pr.name != "" && staleStatement(err) {
		pr.b.stmts.drop(pr.ctx, pr.conn.Conn().PgConn(), pr.sql)
		pr.retrying = pr.first
	}
	return pr.release(err)
}

// release gives the connection back to the pool and runs after, unless
// the call runs again.
func (pr *preparedRun) release(err error) error {
	pr.conn.Release()
	if pr.after != nil && !pr.retrying {
		pr.after()
	}
	return err
}
