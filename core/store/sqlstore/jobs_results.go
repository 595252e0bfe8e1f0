package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
)

// The stored results of deferred jobs, in gateway_deferred_results: one row
// per chunk, keyed by job, attempt and seq. Chunks of an attempt become
// readable only when Finish records that attempt as the job's result, so a
// worker that dies mid-write leaves chunks nobody reads (Finish of a later
// attempt, Requeue and Prune delete them).

// PutChunk implements jobs.Store: in one transaction it extends the claim,
// which must still be j's worker's for j's attempt, and stores the chunk.
func (s *Jobs) PutChunk(ctx context.Context, j *core.Job, c jobs.Chunk, leaseUntil time.Time) (ok bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store chunk of %s: %w", j.RequestID, err)
	}
	defer func() {
		if !ok || err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE gateway_deferred_requests SET lease_until = $1
		WHERE request_id = $2 AND status = 'running' AND worker_id = $3 AND attempts = $4`),
		ms(leaseUntil), j.RequestID, j.WorkerID, j.Attempts)
	if err != nil {
		return false, fmt.Errorf("store chunk of %s: %w", j.RequestID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO gateway_deferred_results (request_id, attempt, seq, row_count, data)
		VALUES ($1, $2, $3, $4, $5)`), j.RequestID, j.Attempts, c.Seq, c.Rows, string(c.Data)); err != nil {
		return false, fmt.Errorf("store chunk %d of %s: %w", c.Seq, j.RequestID, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store chunk %d of %s: %w", c.Seq, j.RequestID, err)
	}
	j.LeaseUntil = leaseUntil
	return true, nil
}

// Chunks implements jobs.Store.
func (s *Jobs) Chunks(ctx context.Context, id string, attempt int, from int64, limit int) ([]jobs.Chunk, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT seq, row_count, data FROM gateway_deferred_results
		WHERE request_id = $1 AND attempt = $2 AND seq >= $3 ORDER BY seq LIMIT $4`), id, attempt, from, limit)
	if err != nil {
		return nil, fmt.Errorf("read chunks of %s: %w", id, err)
	}
	defer rows.Close()
	var out []jobs.Chunk
	for rows.Next() {
		var c jobs.Chunk
		var data string
		if err := rows.Scan(&c.Seq, &c.Rows, &data); err != nil {
			return nil, fmt.Errorf("read chunks of %s: %w", id, err)
		}
		c.Data = []byte(data)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read chunks of %s: %w", id, err)
	}
	return out, nil
}

// ResultBytes implements jobs.Store: the bytes of finished jobs' stored
// results (a result being written counts once its job finishes).
func (s *Jobs) ResultBytes(ctx context.Context, client string) (map[string]int64, error) {
	var (
		rows *sql.Rows
		err  error
	)
	const sel = `SELECT client_name, SUM(result_bytes) FROM gateway_deferred_requests WHERE result_bytes > 0`
	if client != "" {
		rows, err = s.db.QueryContext(ctx, s.q(sel+` AND client_name = $1 GROUP BY client_name`), client)
	} else {
		rows, err = s.db.QueryContext(ctx, sel+` GROUP BY client_name`)
	}
	if err != nil {
		return nil, fmt.Errorf("stored result bytes: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("stored result bytes: %w", err)
		}
		out[name] = n
	}
	return out, rows.Err()
}
