package scylla

import (
	"context"
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/athena-go/athena/core"
)

// iterRows is the cursor of Fetch and Query over a gocql.Iter. The driver
// fetches one page (Config.PageSize rows) per round trip as Next advances,
// prefetching the next when most of the current one is read, so a large
// result is never held whole. The first row is read when the cursor is made,
// so errors the server reports at once come back from Fetch or Query.
type iterRows struct {
	ctx    context.Context
	iter   *gocql.Iter
	cols   []string
	cells  []cell
	dest   []any
	widths []int  // cells per column: 1, or a tuple's element count
	tuple  []bool // the column is a tuple (even of one element)
	vals   []any
	skip   int64 // rows still to discard (CQL has no OFFSET)
	pages  int   // pages received so far
	primed bool
	done   bool
	err    error
}

func newIterRows(ctx context.Context, it *gocql.Iter, skip int64) (*iterRows, error) {
	r := &iterRows{ctx: ctx, iter: it, skip: skip, pages: 1}
	cols := it.Columns()
	if len(cols) > 0 { // a statement without rows keeps nil columns
		r.cols = make([]string, len(cols))
		r.widths = make([]int, len(cols))
		r.tuple = make([]bool, len(cols))
	}
	for i, c := range cols {
		r.cols[i], r.widths[i] = c.Name, 1
		if tt, ok := c.TypeInfo.(gocql.TupleTypeInfo); ok {
			r.widths[i], r.tuple[i] = len(tt.Elems), true
		}
	}
	n := 0
	for _, w := range r.widths {
		n += w
	}
	r.cells = make([]cell, n)
	r.dest = make([]any, n)
	for i := range r.cells {
		r.dest[i] = &r.cells[i]
	}
	r.vals = make([]any, len(r.cols))
	if r.advance() {
		r.primed = true
	} else if r.err != nil {
		return nil, r.err
	}
	return r, nil
}

func (r *iterRows) advance() bool {
	for !r.done {
		if r.iter.WillSwitchPage() {
			r.pages++
		}
		if len(r.cols) == 0 || !r.iter.Scan(r.dest...) {
			r.end()
			return false
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		j := 0
		for i, w := range r.widths {
			if !r.tuple[i] {
				r.vals[i] = r.cells[j].v
			} else {
				r.vals[i] = tupleValue(r.cells[j : j+w])
			}
			j += w
		}
		return true
	}
	return false
}

// tupleValue joins a tuple column's elements. gocql hands a null tuple to
// its elements as nulls, so a tuple whose elements are all null reads as
// null.
func tupleValue(cs []cell) any {
	out := make([]any, len(cs))
	allNull := true
	for i := range cs {
		out[i] = cs[i].v
		if out[i] != nil {
			allNull = false
		}
	}
	if allNull {
		return nil
	}
	return out
}

func (r *iterRows) end() {
	if r.done {
		return
	}
	r.done = true
	if err := r.iter.Close(); err != nil {
		r.err = mapError(r.ctx, fmt.Errorf("scylla: read rows: %w", err))
	}
}

func (r *iterRows) Columns() []string { return r.cols }

func (r *iterRows) Next() bool {
	if r.primed {
		r.primed = false
		return true
	}
	return r.advance()
}

func (r *iterRows) Values() []any   { return r.vals }
func (r *iterRows) Err() error      { return r.err }
func (r *iterRows) Affected() int64 { return 0 }

// Close stops reading; pages not fetched yet are never requested.
func (r *iterRows) Close() { r.end() }

// sliceRows is a cursor over rows already in memory (a delete's rows, read
// before the delete) or over none.
type sliceRows struct {
	cols     []string
	rows     [][]any
	i        int
	affected int64
	err      error
}

func (r *sliceRows) Columns() []string { return r.cols }
func (r *sliceRows) Next() bool {
	if r.i >= len(r.rows) {
		return false
	}
	r.i++
	return true
}
func (r *sliceRows) Values() []any   { return r.rows[r.i-1] }
func (r *sliceRows) Err() error      { return r.err }
func (r *sliceRows) Affected() int64 { return r.affected }
func (r *sliceRows) Close()          {}

// readBackRows is the cursor of an insert or update: the statement has run,
// and each Next reads one written row back by its primary key, so the
// reply shows the row as stored (defaults of earlier writes, server-side
// conversions) without holding every row at once. A row deleted meanwhile
// is skipped.
type readBackRows struct {
	ctx      context.Context
	sess     *gocql.Session
	table    *core.Table
	stmt     string
	keys     [][]any
	cols     []string
	cells    []cell
	dest     []any
	vals     []any
	i        int
	affected int64
	err      error
}

func newReadBack(ctx context.Context, b *Backend, s *gocql.Session, t *core.Table, ret []*core.Column, keys [][]any, affected int64) core.Rows {
	if len(ret) == 0 {
		return &sliceRows{affected: affected}
	}
	r := &readBackRows{ctx: ctx, sess: s, table: t, keys: keys, affected: affected,
		stmt: "SELECT " + columnList(ret) + " FROM " + b.qualified(t.Name) + keyWhere(t)}
	for _, c := range ret {
		r.cols = append(r.cols, c.Name)
	}
	return r
}

func (r *readBackRows) Columns() []string { return r.cols }

func (r *readBackRows) Next() bool {
	for r.err == nil && r.i < len(r.keys) {
		key := r.keys[r.i]
		r.i++
		it := r.sess.Query(r.stmt, keyArgs(r.table, key)...).WithContext(r.ctx).Idempotent(true).Iter()
		if r.dest == nil {
			r.initDest(it)
		}
		ok := it.Scan(r.dest...)
		if err := it.Close(); err != nil {
			r.err = mapError(r.ctx, fmt.Errorf("scylla: read back %s: %w", r.table.Name, err))
			return false
		}
		if ok {
			j := 0
			for i, c := range it.Columns() {
				if tt, isT := c.TypeInfo.(gocql.TupleTypeInfo); isT {
					r.vals[i] = tupleValue(r.cells[j : j+len(tt.Elems)])
					j += len(tt.Elems)
				} else {
					r.vals[i] = r.cells[j].v
					j++
				}
			}
			return true
		}
	}
	return false
}

func (r *readBackRows) initDest(it *gocql.Iter) {
	n := 0
	for _, c := range it.Columns() {
		if tt, ok := c.TypeInfo.(gocql.TupleTypeInfo); ok {
			n += len(tt.Elems)
		} else {
			n++
		}
	}
	r.cells = make([]cell, n)
	r.dest = make([]any, n)
	for i := range r.cells {
		r.dest[i] = &r.cells[i]
	}
	r.vals = make([]any, len(r.cols))
}

func (r *readBackRows) Values() []any   { return r.vals }
func (r *readBackRows) Err() error      { return r.err }
func (r *readBackRows) Affected() int64 { return r.affected }

// Close ends the cursor; the write has happened already.
func (r *readBackRows) Close() { r.i = len(r.keys) }
