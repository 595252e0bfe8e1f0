package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// rows is the cursor of Fetch and Write over pgx.Rows. The first row is read
// when the cursor is made, so errors the server reports at once (bad input,
// constraint violations) come back from Fetch or Write themselves.
type rows struct {
	ctx      context.Context
	rs       pgx.Rows
	cols     []string
	decs     []decoder
	encs     []encoder // see AppendRowJSON
	vals     []any
	raw      [][]byte // the current row, decoded into vals only when Values asks
	decoded  bool
	primed   bool // raw holds a row Next has not returned yet
	done     bool
	err      error
	affected int64
	write    bool
	// finish, when set, gets the iteration error and returns the final
	// one (a write wraps it with its table).
	finish func(err error) error
	// Room for the columns of a narrow result, where newRows starts decs,
	// encs and vals (not cols: a reply keeps them, and must not keep the
	// cursor with them).
	decsIn [8]decoder
	encsIn [8]encoder
	valsIn [8]any
}

func newRows(ctx context.Context, rs pgx.Rows, planCols []*core.Column, write bool, finish func(error) error) (*rows, error) {
	fds := rs.FieldDescriptions()
	r := &rows{ctx: ctx, rs: rs, write: write, finish: finish, cols: make([]string, len(fds))}
	if n := len(fds); n <= len(r.decsIn) {
		r.decs, r.encs, r.vals = r.decsIn[:n], r.encsIn[:n], r.valsIn[:n]
	} else {
		r.decs, r.encs, r.vals = make([]decoder, n), make([]encoder, n), make([]any, n)
	}
	for i, fd := range fds {
		r.cols[i] = fd.Name
		var fallback decoder
		if i < len(planCols) && planCols[i].Array {
			fallback = arrayDecoder(decodeText, ',')
		}
		r.decs[i] = decoderFor(fd.DataTypeOID, fallback)
		r.encs[i] = encoderFor(fd.DataTypeOID, fallback)
	}
	if r.advance() {
		r.primed = true
	} else if r.err != nil {
		return nil, r.err
	}
	return r, nil
}

// advance reads the next row (decoded by Values, or encoded by
// AppendRowJSON), or ends the cursor.
func (r *rows) advance() bool {
	if r.done {
		return false
	}
	if !r.rs.Next() {
		r.end()
		return false
	}
	r.raw, r.decoded = r.rs.RawValues(), false
	return true
}

// end closes the driver rows, records Affected and calls finish, once.
func (r *rows) end() {
	if r.done {
		return
	}
	r.done = true
	r.rs.Close()
	err := r.rs.Err()
	if r.write && err == nil {
		r.affected = r.rs.CommandTag().RowsAffected()
	}
	if r.finish != nil {
		err = r.finish(err)
	}
	r.err = mapError(r.ctx, err)
}

func (r *rows) Columns() []string { return r.cols }

func (r *rows) Next() bool {
	if r.primed {
		r.primed = false
		return true
	}
	return r.advance()
}

func (r *rows) Values() []any {
	if !r.decoded {
		decodeRow(r.vals, r.raw, r.decs)
		r.decoded = true
	}
	return r.vals
}

// AppendRowJSON implements core.JSONRows.
func (r *rows) AppendRowJSON(buf []byte, ends []int) ([]byte, []int) {
	return appendRowJSON(buf, ends, r.raw, r.encs, r.decs)
}

func (r *rows) Err() error      { return r.err }
func (r *rows) Affected() int64 { return r.affected }

// Close ends the cursor. A write's cursor is drained first, so that its
// outcome (committed, or the error of a deferred constraint) and Affected
// are known whether or not the caller read the RETURNING rows, which are
// few.
func (r *rows) Close() {
	if r.write {
		for r.advance() {
		}
	}
	r.end()
}

// queryRows is the cursor of Query: the simple protocol's results, one per
// statement. It carries the rows of the first statement that returns rows;
// the statements after it still run (their rows are discarded) before the
// cursor reports its end, so an error anywhere in the text is reported.
// Affected sums the row counts of statements without a result set and of
// INSERT/UPDATE/DELETE/MERGE ... RETURNING.
type queryRows struct {
	ctx      context.Context
	mrr      *pgconn.MultiResultReader
	rr       *pgconn.ResultReader // the result being read; nil when none has rows
	release  func(error) error    // returns the query's final error
	cols     []string
	decs     []decoder
	encs     []encoder
	vals     []any
	raw      [][]byte
	decoded  bool
	primed   bool
	done     bool
	err      error
	affected int64
}

// start reads up to the first result with rows and primes its first row.
func (q *queryRows) start() error {
	for q.mrr.NextResult() {
		rr := q.mrr.ResultReader()
		if fds := rr.FieldDescriptions(); len(fds) > 0 {
			q.rr = rr
			q.cols = make([]string, len(fds))
			q.decs = make([]decoder, len(fds))
			q.vals = make([]any, len(fds))
			q.encs = make([]encoder, len(fds))
			for i, fd := range fds {
				q.cols[i] = fd.Name
				q.decs[i] = decoderFor(fd.DataTypeOID, nil)
				q.encs[i] = encoderFor(fd.DataTypeOID, nil)
			}
			break
		}
		tag, err := rr.Close()
		if err != nil {
			q.finishWith(err)
			return q.err
		}
		q.affected += tag.RowsAffected()
	}
	if q.rr == nil {
		q.finishWith(nil)
		return q.err
	}
	if q.advance() {
		q.primed = true
	}
	if q.done && q.err != nil {
		return q.err
	}
	return nil
}

func (q *queryRows) advance() bool {
	if q.done {
		return false
	}
	if !q.rr.NextRow() {
		tag, err := q.rr.Close()
		if err == nil && writeTag(tag) {
			q.affected += tag.RowsAffected()
		}
		q.finishWith(err)
		return false
	}
	q.raw, q.decoded = q.rr.Values(), false
	return true
}

// finishWith runs the remaining statements, closes the reader and releases
// the connection, once.
func (q *queryRows) finishWith(err error) {
	if q.done {
		return
	}
	q.done = true
	if err == nil {
		for q.mrr.NextResult() {
			tag, cerr := q.mrr.ResultReader().Close()
			if cerr != nil {
				err = cerr
				break
			}
			if writeTag(tag) || len(q.mrr.ResultReader().FieldDescriptions()) == 0 {
				q.affected += tag.RowsAffected()
			}
		}
	}
	if cerr := q.mrr.Close(); err == nil {
		err = cerr
	}
	q.err = mapError(q.ctx, q.release(err))
}

func writeTag(tag pgconn.CommandTag) bool {
	return tag.Insert() || tag.Update() || tag.Delete() || strings.HasPrefix(tag.String(), "MERGE")
}

func (q *queryRows) Columns() []string { return q.cols }

func (q *queryRows) Next() bool {
	if q.primed {
		q.primed = false
		return true
	}
	return q.advance()
}

func (q *queryRows) Values() []any {
	if !q.decoded {
		decodeRow(q.vals, q.raw, q.decs)
		q.decoded = true
	}
	return q.vals
}

// AppendRowJSON implements core.JSONRows.
func (q *queryRows) AppendRowJSON(buf []byte, ends []int) ([]byte, []int) {
	return appendRowJSON(buf, ends, q.raw, q.encs, q.decs)
}

// decodeRow decodes one row's text-format values (nil is NULL) into vals.
func decodeRow(vals []any, raw [][]byte, decs []decoder) {
	for i, src := range raw {
		if src == nil {
			vals[i] = nil
		} else {
			vals[i] = decs[i](src)
		}
	}
}

func (q *queryRows) Err() error      { return q.err }
func (q *queryRows) Affected() int64 { return q.affected }

// Close stops reading. Rows not read are discarded; the statements of the
// text still complete (the simple protocol cannot skip them).
func (q *queryRows) Close() {
	if q.done {
		return
	}
	if q.rr != nil {
		_, err := q.rr.Close()
		if err != nil {
			q.finishWith(err)
			return
		}
	}
	q.finishWith(nil)
}

// cleanupTimeout bounds rollbacks and session resets that must run even
// when the request's ctx has ended.
const cleanupTimeout = 5 * time.Second
