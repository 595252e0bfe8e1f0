package jobs

import (
	"context"

	"github.com/athena-go/athena/core/vocab"
)

// readBatch is how many chunks a ResultReader reads from the store at once:
// a reader holds at most this many chunks in memory.
const readBatch = 4

// ResultReader reads a stored result back, chunk by chunk, from the store:
// only as fast as its caller asks, so a slow client holds a few chunks of a
// result, never the result. It is not safe for concurrent use.
type ResultReader struct {
	q       *Queue
	id      string
	attempt int
	next    int64 // the seq of the next chunk to read from the store
	end     int64 // the chunk count
	buf     []Chunk
	err     error
}

// ReadResult returns a reader of j's stored result from chunk from on. j
// must be completed with a stored result (j.Stored set).
func (q *Queue) ReadResult(j *vocab.Job, from int64) (*ResultReader, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	s := j.Stored
	if s == nil {
		return nil, vocab.Errorf(vocab.CodeNotFound, "deferred request %q has no stored result", vocab.Truncate(j.RequestID, 64))
	}
	if from < 0 || from > s.Chunks {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "from_seq: expected 0 to %d (the result has %d chunks), got %d", s.Chunks, s.Chunks, from)
	}
	return &ResultReader{q: q, id: j.RequestID, attempt: s.Attempt, next: from, end: s.Chunks}, nil
}

// Next returns the next chunk, or false at the end or on an error (see
// Err).
func (r *ResultReader) Next(ctx context.Context) (Chunk, bool) {
	if len(r.buf) == 0 {
		if r.err != nil || r.next >= r.end {
			return Chunk{}, false
		}
		cs, err := r.q.cfg.Store.Chunks(ctx, r.id, r.attempt, r.next, readBatch)
		if err != nil {
			r.err = vocab.Classify(ctx, r.q.storeErr(err, r.id))
			return Chunk{}, false
		}
		if len(cs) == 0 {
			// Pruned or requeued while being read.
			r.err = vocab.Errorf(vocab.CodeNotFound, "the stored result of deferred request %q is gone (it expired or was requeued)", vocab.Truncate(r.id, 64))
			return Chunk{}, false
		}
		r.buf = cs
	}
	c := r.buf[0]
	r.buf = r.buf[1:]
	if c.Seq != r.next {
		r.buf, r.err = nil, vocab.Errorf(vocab.CodeNotFound, "the stored result of deferred request %q is gone (it expired or was requeued)", vocab.Truncate(r.id, 64))
		return Chunk{}, false
	}
	r.next = c.Seq + 1
	return c, true
}

// Err is the error that ended reading early, nil at the end of the result.
func (r *ResultReader) Err() error { return r.err }

var _ vocab.ResultReader = (*ResultReader)(nil)
