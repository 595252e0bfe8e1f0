package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/schema"
)

// FinishMany implements jobs.Store: the terminal writes of jobs finishing
// together. On PostgreSQL the jobs whose first attempt completed go in one
// UPDATE over unnest'ed arrays (one array per column, so the statement's
// text is the same for every batch size and pgx caches one plan), each row
// still conditional on its own claim; a job that must also delete the
// chunks of other attempts, and every job on SQLite (one writer), goes
// through Finish.
func (s *Jobs) FinishMany(ctx context.Context, js []*core.Job) (ok []bool, errs []error) {
	ok, errs = make([]bool, len(js)), make([]error, len(js))
	var batch []int
	for i, j := range js {
		if s.dialect == schema.Postgres && j.Attempts == 1 && j.Status == core.JobCompleted {
			batch = append(batch, i)
			continue
		}
		ok[i], errs[i] = s.Finish(ctx, j)
	}
	if len(batch) == 0 {
		return ok, errs
	}
	if err := s.finishBatch(ctx, js, batch, ok); err != nil {
		for _, i := range batch {
			errs[i] = err
		}
	}
	return ok, errs
}

// finishBatch stores the terminal states of js[i] for i in batch in one
// statement and sets ok[i] for each it stored.
func (s *Jobs) finishBatch(ctx context.Context, js []*core.Job, batch []int, ok []bool) error {
	n := len(batch)
	var (
		ids, statuses, workers = make([]string, n), make([]string, n), make([]string, n)
		results, errs          = make([]*string, n), make([]*string, n)
		truncated              = make([]bool, n)
		finished, attempts     = make([]int64, n), make([]int64, n)
		rows, chunks, bytes    = make([]*int64, n), make([]*int64, n), make([]*int64, n)
		attempt, chunkRows     = make([]*int64, n), make([]*int64, n)
		at                     = make(map[string]int, n)
	)
	ptr := func(v sql.NullString) *string {
		if !v.Valid {
			return nil
		}
		return &v.String
	}
	for k, i := range batch {
		j := js[i]
		at[j.RequestID] = i
		ids[k], statuses[k], workers[k], attempts[k] = j.RequestID, string(j.Status), j.WorkerID, int64(j.Attempts)
		results[k], errs[k], truncated[k] = ptr(nullString(string(j.Result))), ptr(nullString(j.Error)), j.ResultTruncated
		if j.FinishedAt != nil {
			finished[k] = ms(*j.FinishedAt)
		}
		if st := j.Stored; st != nil {
			a, cr := int64(j.Attempts), int64(st.ChunkRows)
			rows[k], chunks[k], bytes[k], attempt[k], chunkRows[k] = &st.RowCount, &st.Chunks, &st.Bytes, &a, &cr
		}
	}
	res, err := s.db.QueryContext(ctx, `UPDATE gateway_deferred_requests AS d
		SET status = v.status, result = v.result, error = v.error, result_truncated = v.truncated,
			finished_at = v.finished, updated_at = v.finished, lease_until = NULL,
			result_rows = v.rows, result_chunks = v.chunks, result_bytes = COALESCE(v.bytes, 0),
			result_attempt = v.attempt, result_chunk_rows = v.chunk_rows
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::int8[], $7::text[], $8::int8[],
			$9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[])
			AS v(request_id, status, result, error, truncated, finished, worker_id, attempts, rows, chunks, bytes, attempt, chunk_rows)
		WHERE d.request_id = v.request_id AND d.status = 'running' AND d.worker_id = v.worker_id AND d.attempts = v.attempts
		RETURNING d.request_id`,
		ids, statuses, results, errs, truncated, finished, workers, attempts, rows, chunks, bytes, attempt, chunkRows)
	if err != nil {
		return fmt.Errorf("finish %d jobs: %w", n, err)
	}
	defer res.Close()
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			return fmt.Errorf("finish %d jobs: %w", n, err)
		}
		if i, found := at[id]; found {
			ok[i] = true
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("finish %d jobs: %w", n, err)
	}
	return nil
}

var _ jobs.BatchFinisher = (*Jobs)(nil)
