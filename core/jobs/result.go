package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/athena-go/athena/core/vocab"
)

// errClaimLost ends a stored result's writing when the job's claim is no
// longer this worker's (canceled, or taken over after the lease expired).
var errClaimLost = errors.New("the claim on the job was lost")

// storeRows runs a job whose result is stored in chunks: it moves rows from
// the cursor into the store a chunk at a time, holding at most one chunk
// (plus the small inline copy, up to ResultMaxBytes) in memory, and
// extending the claim with every chunk. It returns the terminal envelope
// and summary, or the error that failed the job. The job completes only
// after every chunk is stored: a node that dies while writing leaves it
// running, and it runs again when its lease expires.
//
// A result that fits in one chunk and inline (ResultMaxBytes) is not
// stored in chunks at all: it travels in the job's result, which Finish
// stores, and its summary is nil; ReadResult serves it from there. Such a
// result costs no store statement before Finish (not even the quota read),
// and does not count against ResultClientQuotaBytes (issue #19).
func (q *Queue) storeRows(ctx context.Context, j *vocab.Job, rows Rows, verb string) (vocab.Envelope, *vocab.ResultSummary, error) {
	defer rows.Close()
	sum := &vocab.ResultSummary{ChunkRows: q.cfg.ChunkRows, Attempt: j.Attempts}
	var (
		buf       = make([]byte, 0, 4<<10)
		inline    = []byte{'['}
		inlineOK  = true
		chunkRows int
		cut       bool
		// budget is what the job may store: the per-job bound until the
		// client's quota is read, before the first chunk is stored.
		budget     = q.cfg.ResultJobMaxBytes
		quotaRead  bool
		quotaBound bool
	)
	// openStore reads the client's quota once, before the first chunk is
	// stored, and cuts the buffered rows to it; it reports a cut.
	openStore := func() (bool, error) {
		if quotaRead {
			return false, nil
		}
		quotaRead = true
		b, bound, err := q.resultBudget(ctx, j.ClientName)
		if err != nil {
			return false, err
		}
		budget, quotaBound = b, bound
		if sum.Bytes+int64(len(buf)) <= budget {
			return false, nil
		}
		keep := bytes.LastIndexByte(buf[:budget-sum.Bytes], '\n') + 1
		dropped := bytes.Count(buf[keep:], []byte{'\n'})
		buf, chunkRows, sum.RowCount = buf[:keep], chunkRows-dropped, sum.RowCount-int64(dropped)
		return true, nil
	}
	flush := func() (bool, error) {
		cutNow, err := openStore()
		if err != nil {
			return false, err
		}
		if chunkRows == 0 {
			return cutNow, nil
		}
		c := Chunk{Seq: sum.Chunks, Rows: chunkRows, Data: buf}
		ok, err := q.cfg.Store.PutChunk(ctx, j, c, time.Now().Add(q.lease()))
		if err != nil {
			// The store is briefly away: another attempt may do better.
			return false, retryable{fmt.Errorf("store chunk %d: %w", c.Seq, err)}
		}
		if !ok {
			return false, errClaimLost
		}
		q.metrics.resultWritten.WithLabelValues(j.ClientName).Add(float64(len(buf)))
		sum.Chunks++
		sum.Bytes += int64(len(buf))
		buf, chunkRows = buf[:0], 0
		return cutNow, nil
	}
	for rows.Next() {
		start := len(buf)
		buf = rows.AppendRow(buf)
		buf = append(buf, '\n')
		if sum.Bytes+int64(len(buf)) > budget {
			buf, cut = buf[:start], true
			break
		}
		row := buf[start : len(buf)-1]
		if inlineOK {
			if len(inline)+len(row)+2 > q.cfg.ResultMaxBytes {
				inline, inlineOK = nil, false
			} else {
				if len(inline) > 1 {
					inline = append(inline, ',')
				}
				inline = append(inline, row...)
			}
		}
		sum.RowCount++
		chunkRows++
		if chunkRows == q.cfg.ChunkRows {
			cutNow, err := flush()
			if err != nil {
				return vocab.Envelope{}, nil, err
			}
			if cutNow {
				cut = true
				break
			}
		}
	}
	if !cut {
		if err := rows.Err(); err != nil {
			return vocab.Envelope{}, nil, err
		}
	}
	n := sum.RowCount
	env := vocab.Envelope{Status: "success", Message: fmt.Sprintf("%s %d %s", verb, n, vocab.Plural(n, "row"))}
	if sum.Chunks == 0 && inlineOK && !cut {
		// Small: the job's result carries it (see above). meta.chunks
		// counts the one chunk ReadResult serves it as.
		chunks := min(n, 1)
		env.Data = json.RawMessage(append(inline, ']'))
		env.Meta = &vocab.Meta{RowCount: &n, Chunks: &chunks}
		return env, nil, nil
	}
	if chunkRows > 0 || !quotaRead {
		cutNow, err := flush()
		if err != nil {
			return vocab.Envelope{}, nil, err
		}
		cut = cut || cutNow
	}
	if cut && quotaBound {
		return vocab.Envelope{}, nil, vocab.Errorf(vocab.CodePayloadTooLarge,
			"the stored results of client %q reached its quota of %d bytes (gateway.deferred_result_client_quota_bytes); results leave the quota when their jobs expire (gateway.deferred_retention)",
			vocab.Truncate(j.ClientName, 64), q.cfg.ResultClientQuotaBytes)
	}
	n = sum.RowCount
	env.Message = fmt.Sprintf("%s %d %s", verb, n, vocab.Plural(n, "row"))
	meta := &vocab.Meta{RowCount: &n, Chunks: &sum.Chunks}
	if cut {
		sum.Truncated = true
		sum.Message = fmt.Sprintf("the result was cut after %d rows at the per-job bound of %d bytes (gateway.deferred_result_job_max_bytes); narrow the request or raise the bound", n, q.cfg.ResultJobMaxBytes)
		env.Message += "; " + sum.Message
		meta.Truncated = true
	}
	sum.Message = env.Message
	if inlineOK && !cut {
		env.Data = json.RawMessage(append(inline, ']'))
		env.Meta = meta
	}
	return env, sum, nil
}

// resultBudget is how many bytes a job of client may store: the per-job
// bound, or less when the client's quota has less room; quotaBound says
// the quota is what binds.
func (q *Queue) resultBudget(ctx context.Context, client string) (budget int64, quotaBound bool, err error) {
	budget = q.cfg.ResultJobMaxBytes
	if q.cfg.ResultClientQuotaBytes < 0 {
		return budget, false, nil
	}
	used, err := q.cfg.Store.ResultBytes(ctx, client)
	if err != nil {
		return 0, false, retryable{fmt.Errorf("read the client's stored result bytes: %w", err)}
	}
	if room := q.cfg.ResultClientQuotaBytes - used[client]; room < budget {
		return max(room, 0), true, nil
	}
	return budget, false, nil
}

// retryable marks a store failure as worth another attempt.
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }
func (retryable) Retryable() bool { return true }
