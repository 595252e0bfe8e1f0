package jobs

import (
	"bytes"
	"context"
	"encoding/json"

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

// ReadResult returns a reader of j's result rows from chunk from on. j must
// be completed. Its rows are read from the store's chunks (j.Stored set),
// or, for a result small enough to travel in the job, from its result (and
// j.Stored is set to its summary). It returns nil and no error when j has
// no rows to read: its result is an envelope to answer as it is (a write's).
func (q *Queue) ReadResult(j *vocab.Job, from int64) (*ResultReader, error) {
	if q == nil {
		return nil, ErrNoQueue
	}
	s := j.Stored
	var chunks []Chunk
	if s == nil {
		var ok bool
		if s, chunks, ok = q.inlineResult(j); !ok {
			return nil, nil
		}
	}
	if from < 0 || from > s.Chunks {
		return nil, vocab.Errorf(vocab.CodeBadRequest, "from_seq: expected 0 to %d (the result has %d chunks), got %d", s.Chunks, s.Chunks, from)
	}
	r := &ResultReader{q: q, id: j.RequestID, attempt: s.Attempt, next: from, end: s.Chunks}
	if chunks != nil {
		r.buf = chunks[from:] // every chunk is in memory
		j.Stored = s
	}
	return r, nil
}

// inlineResult reads the result a job carries when it was small enough not
// to be stored in chunks (storeRows): the envelope of a fetch, query or sql
// whose meta counts chunks, its rows in data. It returns that result as the
// summary and the chunks (of the configured ChunkRows rows) a stored one
// would have; ok is false for any other result (a write's, an error).
func (q *Queue) inlineResult(j *vocab.Job) (sum *vocab.ResultSummary, chunks []Chunk, ok bool) {
	if j.Status != vocab.JobCompleted || len(j.Result) == 0 {
		return nil, nil, false
	}
	var env struct {
		Data []json.RawMessage `json:"data"`
		Meta *struct {
			Chunks *int64 `json:"chunks"`
		} `json:"meta"`
	}
	if json.Unmarshal(j.Result, &env) != nil || env.Meta == nil || env.Meta.Chunks == nil || env.Data == nil {
		return nil, nil, false
	}
	sum = &vocab.ResultSummary{RowCount: int64(len(env.Data)), ChunkRows: q.cfg.ChunkRows, Attempt: j.Attempts}
	chunks = []Chunk{}
	for len(env.Data) > 0 {
		n := min(len(env.Data), q.cfg.ChunkRows)
		var b bytes.Buffer
		for _, row := range env.Data[:n] {
			if json.Compact(&b, row) != nil {
				return nil, nil, false
			}
			b.WriteByte('\n')
		}
		chunks = append(chunks, Chunk{Seq: int64(len(chunks)), Rows: n, Data: b.Bytes()})
		sum.Bytes += int64(b.Len())
		env.Data = env.Data[n:]
	}
	sum.Chunks = int64(len(chunks))
	return sum, chunks, true
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
