package core

import (
	"context"

	"github.com/athena-go/athena/core/request"
	"github.com/athena-go/athena/core/vocab"
)

// Cursor streams a fetch or query row by row. It is not safe for concurrent
// use; Close must be called.
type Cursor struct {
	ctx   context.Context
	rows  Rows
	camel bool
	cols  []string // camelCase column names, computed on the first row
	// onClose runs once the cursor is closed (a raw query's invalidation).
	onClose func()
	// onDone records the stream's outcome (core/call.go).
	onDone func(error)
	strip  bool
	cancel context.CancelFunc
	count  int64
	// vals and ends hold the current row's values as JSON when rows
	// implement JSONRows (the fast path of AppendRow).
	vals []byte
	ends []int
}

// Stream runs a fetch or query and returns a cursor over its rows, read from
// the database only as fast as the caller consumes them. Streams have no row
// or byte cap, but the statement timeout bounds them like any request (the
// client's, or Call.Timeout up to Config.MaxStatementTimeout): when it ends,
// the statement is cancelled and its connection (on SQLite, the write
// token) released even while the caller is blocked, and Err reports
// timeout.
func (g *Gateway) Stream(ctx context.Context, call Call) (*Cursor, error) {
	o := newOp(call)
	ctx, tr, err := g.begin(ctx, o)
	if err == nil {
		_, err = g.admit(ctx, o, true) // a stream is never deferred
	}
	if err != nil {
		g.finish(tr, err)
		return nil, err
	}
	cu, err := g.stream(ctx, o)
	if err != nil {
		g.finish(tr, err)
		return nil, err
	}
	cu.onDone = func(err error) { g.finish(tr, err) }
	return cu, nil
}

func (g *Gateway) stream(ctx context.Context, o *op) (*Cursor, error) {
	c, err := g.client(o)
	if err != nil {
		return nil, err
	}
	timeout, err := g.timeout(c, o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	var rows Rows
	var onClose func()
	strip := g.stripNulls(o, nil)
	switch r := o.req.(type) {
	case *request.FetchRequest:
		var p *FetchPlan
		if p, err = g.planFetch(ctx, c, r, true); err == nil {
			strip = g.stripNulls(o, r.StripNulls)
			rows, err = c.backend.Fetch(ctx, p)
		}
	case *request.QueryRequest:
		if err = g.checkDriver(c, o, r); err == nil {
			rows, err = c.backend.Query(ctx, r.Query)
			onClose = func() { c.schemaChanged(r.Query); g.invalidate(ctx, c, ""); g.liveRan(c, r.Query) }
		}
	default:
		switch {
		case o.Op != OpFetch && o.Op != OpQuery && o.Op != OpSQL:
			err = Errorf(CodeBadRequest, "operation %s cannot stream", o.Op)
		default:
			err = o.reqErr // a fetch or query whose body did not decode
		}
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
	if jr, ok := cu.rows.(JSONRows); ok {
		cu.vals, cu.ends = jr.AppendRowJSON(cu.vals[:0], cu.ends[:0])
		return vocab.AppendEncodedRow(buf, cols, cu.vals, 0, cu.ends, cu.strip)
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
