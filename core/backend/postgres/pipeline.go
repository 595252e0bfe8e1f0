package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Pipelined fetches. With many requests in flight and a smaller pool, every
// point fetch used to be a write and a read of its own on a connection of
// its own, and PostgreSQL a recv and a send per query. Fetches that wait
// for a connection are now sent together instead, group-commit style:
//
//   - a bounded fetch (its plan has a limit: every non-streamed fetch,
//     whose limit is at least the row cap plus one) becomes a runner when
//     fewer runners than the pool's connections are active, and runs alone
//     on its own connection exactly as before: with one request in flight
//     nothing changes;
//   - otherwise it queues. When a runner ends, it takes up to maxBatch
//     queued fetches and sends them on one connection as one pgconn
//     pipeline: each query followed by a Sync, so each is its own implicit
//     transaction and one's error cannot abort another's, one flush, then
//     every result read in order;
//   - a pipeline must read query i's result fully before query i+1's, so
//     results are held in memory (bufRows): at most maxBufferBytes of raw
//     values per fetch. A larger result is read to its end and dropped, and
//     its fetch runs again alone, streamed, as before;
//   - each fetch gets exactly what it gets alone: the same prepared
//     statement cache (prepare on second sighting, the stale plan dropped
//     and the fetch run again unnamed), the same errors, mapped the same
//     way;
//   - a fetch whose ctx ends (statement timeout, cancelled request) returns
//     at once with the ctx's error; its result is discarded. When its query
//     is the one the server is running, a CancelRequest stops it; a
//     neighbour that the cancel hit instead (the server had moved on) runs
//     again alone. The batch's own ctx ends with the last of its fetches'
//     deadlines.
//
// fetch_pipeline=off in the connection string turns it off (every fetch
// alone on its own connection, as before).

// maxBatch bounds the fetches one pipeline carries; maxBufferBytes the raw
// values held for one pipelined fetch.
const (
	maxBatch       = 64
	maxBufferBytes = 1 << 20
)

// pipeParam is the connection string parameter that turns pipelining off.
const pipeParam = "fetch_pipeline"

// pipeEnabled reads fetch_pipeline from pgx's runtime parameters (where
// pgx puts settings it does not know) and removes it, so it is never sent
// to the server as a setting.
func pipeEnabled(params map[string]string) (bool, error) {
	v, ok := params[pipeParam]
	if !ok {
		return true, nil
	}
	delete(params, pipeParam)
	switch strings.ToLower(v) {
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("postgres: parse URI: %s must be on or off", pipeParam)
}

// Call states.
const (
	callQueued int32 = iota
	callTaken        // in a batch being run
	callDone         // outcome set, done closed
	callGone         // its caller left (ctx ended)
)

// pipeCall is one fetch waiting for, or in, a pipeline.
type pipeCall struct {
	ctx   context.Context
	sql   string
	args  []any
	cols  []*core.Column
	state atomic.Int32
	done  chan struct{}
	batch *pipeBatch // set when taken

	// The outcome, written before state becomes callDone.
	rows  *bufRows // the result (its error included)
	err   error    // a failure before the query was sent (parameter encoding)
	alone bool     // run it again alone
}

// pipeliner queues fetches and runs them in batches.
type pipeliner struct {
	mu      sync.Mutex
	queue   []*pipeCall
	runners int
	max     int

	batches atomic.Int64 // pipelines run with more than one fetch
	batched atomic.Int64 // fetches they carried
}

// fetchRows runs a fetch statement: alone when a runner slot is free or
// the result is unbounded, else in a pipeline with other waiting fetches.
func (b *Backend) fetchRows(ctx context.Context, sql string, args []any, cols []*core.Column, bounded bool) (*rows, error) {
	pl := b.pipe
	if pl == nil || !bounded {
		return b.queryPrepared(ctx, sql, args, cols, nil)
	}
	pl.mu.Lock()
	if pl.runners < pl.max {
		pl.runners++
		pl.mu.Unlock()
		return b.queryPrepared(ctx, sql, args, cols, b.slotFreeFn)
	}
	c := &pipeCall{ctx: ctx, sql: sql, args: args, cols: cols, done: make(chan struct{})}
	pl.queue = append(pl.queue, c)
	pl.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		if c.state.CompareAndSwap(callQueued, callGone) {
			return nil, ctx.Err()
		}
		if c.state.CompareAndSwap(callTaken, callGone) {
			c.batch.cancel(c)
			return nil, ctx.Err()
		}
		<-c.done
	}
	switch {
	case c.err != nil:
		return nil, c.err
	case c.alone:
		return b.queryPrepared(ctx, sql, args, cols, nil)
	}
	return newRows(ctx, c.rows, cols, false, nil)
}

// slotFree ends a runner: it runs the queued fetches, batch after batch,
// on its own goroutine, or gives its slot back when none wait.
func (b *Backend) slotFree() {
	if batch := b.pipe.take(); batch != nil {
		go b.runBatches(batch)
	}
}

// runBatches runs batch, then the batches queued after it, until none
// wait (then take gives the runner's slot back). It is slotFree's
// goroutine: a function of its own, so slotFree's usual path (nothing
// queued) allocates no closure.
func (b *Backend) runBatches(batch *pipeBatch) {
	for batch != nil {
		b.runBatch(batch)
		batch = b.pipe.take()
	}
}

// take removes up to maxBatch waiting fetches from the queue, or gives the
// caller's runner slot back and returns nil when none wait.
func (pl *pipeliner) take() *pipeBatch {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.queue) == 0 {
		pl.runners--
		return nil
	}
	pb := &pipeBatch{}
	n := 0
	for _, c := range pl.queue {
		n++
		c.batch = pb // before the state says taken: its caller reads it then
		if c.state.CompareAndSwap(callQueued, callTaken) {
			pb.calls = append(pb.calls, c)
			if len(pb.calls) == maxBatch {
				break
			}
		}
	}
	rest := copy(pl.queue, pl.queue[n:])
	clear(pl.queue[rest:])
	pl.queue = pl.queue[:rest]
	if pb.calls == nil {
		pl.runners--
		return nil
	}
	return pb
}

// pipeBatch is a pipeline being run: which fetch's result is being read,
// and the CancelRequests sent for fetches whose callers left.
type pipeBatch struct {
	calls     []*pipeCall
	mu        sync.Mutex
	pc        *pgconn.PgConn
	reading   *pipeCall
	sentFor   *pipeCall // the last fetch a CancelRequest was sent for
	cancelled bool
	cancels   sync.WaitGroup
}

// cancel stops c's query when the server is running it (c's caller left).
func (pb *pipeBatch) cancel(c *pipeCall) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.reading != c || pb.pc == nil || pb.sentFor == c {
		return
	}
	pb.sentFor = c
	pb.cancelled = true
	pb.cancels.Add(1)
	go func() {
		defer pb.cancels.Done()
		ctx, stop := context.WithTimeout(context.Background(), cleanupTimeout)
		defer stop()
		_ = pb.pc.CancelRequest(ctx)
	}()
}

func (pb *pipeBatch) setReading(c *pipeCall) {
	pb.mu.Lock()
	pb.reading = c
	pb.mu.Unlock()
}

// finish hands c its outcome, unless its caller left.
func finish(c *pipeCall) {
	if c.state.CompareAndSwap(callTaken, callDone) {
		close(c.done)
	}
}

// batchContext is alive until the last deadline of the batch's fetches
// (without one when any of them has none).
func batchContext(batch []*pipeCall) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, c := range batch {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(batch[0].ctx))
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), last)
}

// runBatch sends batch as one pipeline and hands each fetch its result.
func (b *Backend) runBatch(pb *pipeBatch) {
	batch := pb.calls
	// Every fetch not handed a result below runs again alone.
	defer func() {
		for _, c := range batch {
			if c.state.Load() == callTaken {
				c.alone = true
				finish(c)
			}
		}
	}()
	if len(batch) > 1 {
		b.pipe.batches.Add(1)
		b.pipe.batched.Add(int64(len(batch)))
	}
	ctx, stop := batchContext(batch)
	defer stop()
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	cs := b.stmts.of(pc)
	// Statements first: preparing one (second sighting) is a round trip of
	// its own, which a pipeline cannot interleave.
	names := make([]string, len(batch))
	for again := true; again; {
		again = false
		resets := cs.resets
		for i, c := range batch {
			if c.state.Load() != callTaken {
				continue
			}
			names[i], err = b.stmts.statement(ctx, pc, cs, c.sql)
			if err != nil {
				return
			}
			if cs.resets != resets {
				// A full cache was deallocated: the names found before
				// are gone. Look them up again (a batch is far smaller
				// than the cache, so once).
				again = true
				break
			}
		}
	}
	sent := make([]bool, len(batch))
	p := pc.StartPipeline(ctx)
	pb.mu.Lock()
	pb.pc = pc
	pb.mu.Unlock()
	for i, c := range batch {
		if c.state.Load() != callTaken {
			continue
		}
		eqb := &cs.eqb // its bytes are copied into the send buffer by each Send
		if err := eqb.Build(conn.Conn().TypeMap(), nil, c.args); err != nil {
			c.err = err
			finish(c)
			continue
		}
		if names[i] == "" {
			p.SendQueryParams(c.sql, eqb.ParamValues, nil, eqb.ParamFormats, nil)
		} else {
			p.SendQueryPrepared(names[i], eqb.ParamValues, eqb.ParamFormats, nil)
		}
		p.SendPipelineSync()
		sent[i] = true
	}
	var stale []string
	if err := p.Flush(); err == nil {
		stale = b.readBatch(p, conn.Conn().TypeMap(), pb, batch, names, sent)
	}
	pb.setReading(nil)
	_ = p.Close() // a connection it could not bring back is closed, and the pool drops it
	pb.cancels.Wait()
	if !pc.IsClosed() {
		for _, sql := range stale {
			b.stmts.drop(ctx, pc, sql)
		}
	}
}

// readBatch reads the results of the fetches sent, in order, and hands
// each its own. It returns the texts whose prepared statements PostgreSQL
// refused as stale.
func (b *Backend) readBatch(p *pgconn.Pipeline, types *pgtype.Map, pb *pipeBatch, batch []*pipeCall, names []string, sent []bool) (stale []string) {
	for i, c := range batch {
		if !sent[i] {
			continue
		}
		pb.setReading(c)
		if c.state.Load() == callGone {
			pb.cancel(c) // its caller left before its query's turn
		}
		res, err := p.GetResults()
		var r *bufRows
		switch {
		case err != nil:
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				return stale // the connection failed: the rest run alone
			}
			r = &bufRows{err: err, types: types} // refused before execution (Bind)
		default:
			rr, ok := res.(*pgconn.ResultReader)
			if !ok {
				return stale
			}
			r = readResult(rr)
			r.types = types
		}
		if _, err := p.GetResults(); err != nil { // the query's Sync
			var pe *pgconn.PgError
			if !errors.As(err, &pe) {
				return stale
			}
		}
		var pe *pgconn.PgError
		switch {
		case r.tooBig:
			c.alone = true
		case r.err != nil && names[i] != "" && staleStatement(r.err):
			stale = append(stale, c.sql)
			c.alone = true
		case r.err != nil && errors.As(r.err, &pe) && pe.Code == "57014" && pb.cancelHit():
			// A CancelRequest meant for a fetch whose caller left may
			// have stopped this one instead.
			c.alone = true
		default:
			c.rows = r
		}
		finish(c)
	}
	return stale
}

func (pb *pipeBatch) cancelHit() bool {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.cancelled
}

// readResult reads one query's result into memory, up to maxBufferBytes of
// values; past that it reads on without keeping anything.
func readResult(rr *pgconn.ResultReader) *bufRows {
	// buf is never nil, so an empty value is not taken for a NULL.
	// A small result (a point fetch's) lives in the arrays of r itself: one
	// allocation.
	r := &bufRows{}
	if fds := rr.FieldDescriptions(); len(fds) <= len(r.fdsIn) {
		r.fds = append(r.fdsIn[:0], fds...)
	} else {
		r.fds = append([]pgconn.FieldDescription(nil), fds...)
	}
	r.buf, r.vals = r.bufIn[:0], r.valsIn[:0]
	n := len(r.fds)
	size := 0
	for rr.NextRow() {
		if r.tooBig {
			continue
		}
		for _, v := range rr.Values() {
			size += len(v)
		}
		if size > maxBufferBytes {
			r.tooBig = true
			r.buf, r.vals = r.buf[:0], nil
			continue
		}
		for _, v := range rr.Values() {
			if v == nil {
				r.vals = append(r.vals, nil)
				continue
			}
			start := len(r.buf)
			r.buf = append(r.buf, v...)
			r.vals = append(r.vals, r.buf[start:len(r.buf):len(r.buf)])
		}
		r.nrows++
	}
	r.tag, r.err = rr.Close()
	if n > 0 && !r.tooBig {
		// buf may have moved while growing: point vals at its final copy.
		off := 0
		for i, v := range r.vals {
			if v != nil {
				r.vals[i] = r.buf[off : off+len(v) : off+len(v)]
				off += len(v)
			}
		}
	}
	return r
}

// bufRows is a pipelined fetch's result held in memory, read through the
// same rows cursor as a streamed one (pgx.Rows: field descriptions and raw
// values in text format).
type bufRows struct {
	fds    []pgconn.FieldDescription
	buf    []byte
	vals   [][]byte // nrows × len(fds), into buf; nil is NULL
	nrows  int
	row    int // rows returned by Next
	tag    pgconn.CommandTag
	err    error
	tooBig bool
	closed bool
	types  *pgtype.Map // the connection's
	// Room for a small result, where readResult starts fds, buf and vals.
	fdsIn  [4]pgconn.FieldDescription
	valsIn [8][]byte
	bufIn  [256]byte
}

func (r *bufRows) Close()                                       { r.closed = true }
func (r *bufRows) Err() error                                   { return r.err }
func (r *bufRows) CommandTag() pgconn.CommandTag                { return r.tag }
func (r *bufRows) FieldDescriptions() []pgconn.FieldDescription { return r.fds }
func (r *bufRows) Conn() *pgx.Conn                              { return nil }
func (r *bufRows) TypeMap() *pgtype.Map                         { return r.types }

func (r *bufRows) Next() bool {
	if r.closed || r.row >= r.nrows {
		r.closed = true
		return false
	}
	r.row++
	return true
}

func (r *bufRows) RawValues() [][]byte {
	if r.row == 0 {
		return nil
	}
	n := len(r.fds)
	return r.vals[(r.row-1)*n : r.row*n : r.row*n]
}

// Scan and Values are not used: rows decodes RawValues itself.
func (r *bufRows) Scan(...any) error { return errors.New("postgres: buffered rows do not scan") }
func (r *bufRows) Values() ([]any, error) {
	return nil, errors.New("postgres: buffered rows do not decode")
}

var _ pgx.Rows = (*bufRows)(nil)
