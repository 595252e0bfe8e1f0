// Package sqlstore keeps core's control-plane data in the control-plane
// database through database/sql, in both dialects the schema package
// migrates (PostgreSQL and SQLite). Its Jobs type is the durable deferred
// queue (jobs.Store).
//
// It never imports a driver: cmd opens the *sql.DB. Times are stored as
// Unix milliseconds.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/schema"
)

// Jobs is the deferred queue in gateway_deferred_requests. It is safe for
// concurrent use, across processes on PostgreSQL (claims use FOR UPDATE
// SKIP LOCKED) and within one process on SQLite (every change is a single
// statement on SQLite's one writer).
type Jobs struct {
	db      *sql.DB
	dialect schema.Dialect
	// lastExpiry is when Claim last failed jobs out of attempts (Unix ms):
	// it does so at most once a second, not on every claim.
	lastExpiry atomic.Int64
}

// NewJobs returns the queue over db, which schema.Migrate has migrated.
func NewJobs(db *sql.DB, d schema.Dialect) *Jobs { return &Jobs{db: db, dialect: d} }

// q adapts a statement written with $N placeholders to the dialect.
func (s *Jobs) q(sql string) string { return rebind(s.dialect, sql) }

const jobColumns = `request_id, client_name, action, request, status, attempts, max_attempts,
	worker_id, lease_until, created_at, started_at, finished_at, error, result, result_truncated,
	request_hash, result_rows, result_chunks, result_bytes, result_attempt, result_chunk_rows`

func ms(t time.Time) int64 { return t.UnixMilli() }

// scanJob reads one row of jobColumns.
func scanJob(sc interface{ Scan(...any) error }) (*core.Job, error) {
	var (
		j                               core.Job
		request                         string
		action, status                  string
		worker, errText, result         sql.NullString
		lease, created, started, finish sql.NullInt64
		truncated                       bool
		hash                            sql.NullString
		rRows, rChunks, rAttempt, rCR   sql.NullInt64
		rBytes                          int64
	)
	if err := sc.Scan(&j.RequestID, &j.ClientName, &action, &request, &status, &j.Attempts, &j.MaxAttempts,
		&worker, &lease, &created, &started, &finish, &errText, &result, &truncated,
		&hash, &rRows, &rChunks, &rBytes, &rAttempt, &rCR); err != nil {
		return nil, err
	}
	if rAttempt.Valid {
		j.Stored = &core.ResultSummary{RowCount: rRows.Int64, Chunks: rChunks.Int64, Bytes: rBytes,
			ChunkRows: int(rCR.Int64), Truncated: truncated, Attempt: int(rAttempt.Int64)}
	}
	j.Action, j.Status = core.Operation(action), core.JobStatus(status)
	if err := json.Unmarshal([]byte(request), &j.Request); err != nil {
		return nil, fmt.Errorf("job %s: stored request: %w", j.RequestID, err)
	}
	j.Request.Hash = hash.String
	j.WorkerID, j.Error, j.ResultTruncated = worker.String, errText.String, truncated
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	toTime := func(v sql.NullInt64) *time.Time {
		if !v.Valid {
			return nil
		}
		t := time.UnixMilli(v.Int64).UTC()
		return &t
	}
	j.CreatedAt = time.UnixMilli(created.Int64).UTC()
	j.StartedAt, j.FinishedAt = toTime(started), toTime(finish)
	if l := toTime(lease); l != nil {
		j.LeaseUntil = *l
		j.LeaseExpiresAt = l
	}
	return &j, nil
}

// Enqueue implements jobs.Store in one statement: the insert happens only
// while the client has fewer than maxQueued queued jobs (the count is part
// of the insert, so it costs no round trip of its own). With an idempotency
// key the insert yields to the job already stored under it (one unique
// index per client, owner and key), which it returns; without one it is a
// plain insert, since a random 128-bit id never collides. A job handed to
// a local worker (j.Status running, see jobs.ClaimingEnqueuer) is stored
// already claimed when no job is queued, else queued (j says which).
func (s *Jobs) Enqueue(ctx context.Context, j *core.Job, maxQueued int) (*core.Job, error) {
	req, err := json.Marshal(j.Request)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", j.RequestID, err)
	}
	inserted, err := s.insert(ctx, j, string(req), maxQueued)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", j.RequestID, err)
	}
	if inserted {
		return nil, nil
	}
	if j.Request.IdempotencyKey != "" {
		existing, err := scanJob(s.db.QueryRowContext(ctx, s.q(`SELECT `+jobColumns+` FROM gateway_deferred_requests
			WHERE client_name = $1 AND COALESCE(owner_key, '') = $2 AND idempotency_key = $3`),
			j.ClientName, j.Request.OwnerKey, j.Request.IdempotencyKey))
		if err == nil {
			return existing, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("enqueue %s: read the job of its idempotency key: %w", j.RequestID, err)
		}
		// No job under the key: the cap refused it (or the job was pruned
		// between the insert and the read, a rare race the count settles).
	}
	n, err := s.Queued(ctx, j.ClientName)
	if err != nil {
		return nil, err
	}
	if maxQueued >= 0 && (n >= int64(maxQueued) || j.Request.IdempotencyKey == "") {
		// Without a key only the cap refuses: the count the insert saw
		// reached it, though jobs may have run since.
		return nil, &jobs.QueueFull{Queued: max(n, int64(maxQueued))}
	}
	return nil, fmt.Errorf("enqueue %s: not stored, and the client has %d queued jobs; retry", j.RequestID, n)
}

// insert stores j unless the cap (or its idempotency key) refuses it,
// and reports whether it did. A job that is not handed to a worker is a
// plain queued insert; a hand-off (j.Status running) is stored claimed
// only while no job is queued (h.run), so that it never overtakes an older
// one, and j says how it was stored.
func (s *Jobs) insert(ctx context.Context, j *core.Job, req string, maxQueued int) (bool, error) {
	handoff, lease, started := claimArgs(j)
	conflict := ""
	if j.Request.IdempotencyKey != "" {
		conflict = ` ON CONFLICT DO NOTHING`
	}
	if handoff == 0 {
		res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO gateway_deferred_requests
		(request_id, client_name, action, request, status, attempts, max_attempts, created_at, updated_at, owner_key,
			idempotency_key, request_hash)
		SELECT $1, $2, $3, $4, 'queued', 0, CAST($5 AS INTEGER), CAST($6 AS BIGINT), CAST($6 AS BIGINT), $7, $8, $9
		WHERE CAST($10 AS INTEGER) < 0 OR (SELECT count(*) FROM gateway_deferred_requests WHERE client_name = $2 AND status = 'queued') < CAST($10 AS INTEGER)`+conflict),
			j.RequestID, j.ClientName, string(j.Action), req, j.MaxAttempts, ms(j.CreatedAt),
			nullString(j.Request.OwnerKey), nullString(j.Request.IdempotencyKey), nullString(j.Request.Hash), maxQueued)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	var status string
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO gateway_deferred_requests
		(request_id, client_name, action, request, status, attempts, max_attempts, created_at, updated_at, owner_key,
			idempotency_key, request_hash, worker_id, lease_until, started_at)
		SELECT $1, $2, $3, $4, CASE WHEN h.run THEN 'running' ELSE 'queued' END, CASE WHEN h.run THEN 1 ELSE 0 END,
			CAST($5 AS INTEGER), CAST($6 AS BIGINT), CAST($6 AS BIGINT), $7, $8, $9,
			CASE WHEN h.run THEN $11 END, CASE WHEN h.run THEN CAST($12 AS BIGINT) END, CASE WHEN h.run THEN CAST($13 AS BIGINT) END
		FROM (SELECT NOT EXISTS (SELECT 1 FROM gateway_deferred_requests WHERE status = 'queued') AS run) h
		WHERE CAST($10 AS INTEGER) < 0 OR (SELECT count(*) FROM gateway_deferred_requests WHERE client_name = $2 AND status = 'queued') < CAST($10 AS INTEGER)`+
		conflict+` RETURNING status`),
		j.RequestID, j.ClientName, string(j.Action), req, j.MaxAttempts, ms(j.CreatedAt),
		nullString(j.Request.OwnerKey), nullString(j.Request.IdempotencyKey), nullString(j.Request.Hash), maxQueued,
		nullString(j.WorkerID), lease, started).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		storedAs(j, core.JobQueued)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	storedAs(j, core.JobStatus(status))
	return true, nil
}

// Queued implements jobs.Store.
func (s *Jobs) Queued(ctx context.Context, client string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM gateway_deferred_requests WHERE client_name = $1 AND status = 'queued'`), client).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count queued jobs: %w", err)
	}
	return n, nil
}

// Claim implements jobs.Store: one statement takes up to limit queued jobs,
// oldest first, skipping rows other workers hold (on PostgreSQL); it walks
// the index of queued jobs by creation and stops after limit rows. Jobs whose
// lease ran out (their worker died) are looked for at most once a second,
// by separate statements: failed when out of attempts, else claimed again
// here, before queued jobs. The queued jobs are read through the index of
// queued rows only (gateway_deferred_requests_queued, on created_at), which
// the claimed and finished versions of a row never enter.
func (s *Jobs) Claim(ctx context.Context, worker string, now, leaseUntil time.Time, limit int) (claimed, expired []*core.Job, err error) {
	if last := s.lastExpiry.Load(); now.UnixMilli()-last >= 1000 && s.lastExpiry.CompareAndSwap(last, now.UnixMilli()) {
		if expired, err = s.expire(ctx, now); err != nil {
			return nil, nil, err
		}
		if claimed, err = s.claimWhere(ctx, `status = 'running' AND lease_until < $3 AND attempts < max_attempts
			ORDER BY lease_until`, worker, now, leaseUntil, limit); err != nil {
			return nil, expired, err
		}
	}
	if n := limit - len(claimed); n > 0 {
		queued, err := s.claimWhere(ctx, `status = 'queued' ORDER BY created_at`, worker, now, leaseUntil, n)
		if err != nil {
			return nil, expired, err
		}
		claimed = append(claimed, queued...)
	}
	return claimed, expired, nil
}

// claimWhere leases up to limit jobs matching where (which ends with their
// order; $3 is now) to worker.
func (s *Jobs) claimWhere(ctx context.Context, where, worker string, now, leaseUntil time.Time, limit int) ([]*core.Job, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE gateway_deferred_requests
		SET status = 'running', attempts = attempts + 1, worker_id = $1, lease_until = $2,
			started_at = $3, updated_at = $3, error = NULL
		WHERE request_id IN (
			SELECT request_id FROM gateway_deferred_requests
			WHERE `+where+`
			LIMIT $4
			FOR UPDATE SKIP LOCKED)
		RETURNING `+jobColumns), worker, ms(leaseUntil), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	claimed, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	// RETURNING has no order: run the oldest first.
	sort.Slice(claimed, func(a, b int) bool { return claimed[a].CreatedAt.Before(claimed[b].CreatedAt) })
	return claimed, nil
}

// expire fails running jobs whose lease ran out with no attempts left.
func (s *Jobs) expire(ctx context.Context, now time.Time) ([]*core.Job, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE gateway_deferred_requests
		SET status = 'failed', error = 'the worker running it stopped answering, and no attempts are left',
			finished_at = $1, updated_at = $1, lease_until = NULL
		WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts
		RETURNING `+jobColumns), ms(now))
	if err != nil {
		return nil, fmt.Errorf("expire leases: %w", err)
	}
	expired, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("expire leases: %w", err)
	}
	return expired, nil
}

func collect(rows *sql.Rows) ([]*core.Job, error) {
	defer rows.Close()
	var out []*core.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Finish implements jobs.Store: the write happens only while the job is
// still running under this worker's claim of this attempt, so a result is
// stored at most once.
func (s *Jobs) Finish(ctx context.Context, j *core.Job) (bool, error) {
	var finished int64
	if j.FinishedAt != nil {
		finished = ms(*j.FinishedAt)
	}
	var rows, chunks, bytes, attempt, chunkRows sql.NullInt64
	if st := j.Stored; st != nil {
		rows, chunks = sql.NullInt64{Int64: st.RowCount, Valid: true}, sql.NullInt64{Int64: st.Chunks, Valid: true}
		bytes, attempt = sql.NullInt64{Int64: st.Bytes, Valid: true}, sql.NullInt64{Int64: int64(j.Attempts), Valid: true}
		chunkRows = sql.NullInt64{Int64: int64(st.ChunkRows), Valid: true}
	}
	// The chunks of attempts that did not finish are never read: delete
	// them while this attempt still holds the claim, so that nobody sees
	// the job finished beside them (best effort: Prune deletes whatever is
	// left with the job).
	if j.Attempts > 1 || j.Status != core.JobCompleted {
		keep := int64(-1)
		if j.Stored != nil {
			keep = int64(j.Attempts)
		}
		_, _ = s.db.ExecContext(ctx, s.q(`DELETE FROM gateway_deferred_results WHERE request_id = $1 AND attempt <> $2
			AND EXISTS (SELECT 1 FROM gateway_deferred_requests WHERE request_id = $1 AND status = 'running' AND worker_id = $3 AND attempts = $4)`),
			j.RequestID, keep, j.WorkerID, j.Attempts)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE gateway_deferred_requests
		SET status = $1, result = $2, error = $3, result_truncated = $4, finished_at = $5, updated_at = $5, lease_until = NULL,
			result_rows = $9, result_chunks = $10, result_bytes = COALESCE($11, 0), result_attempt = $12, result_chunk_rows = $13
		WHERE request_id = $6 AND status = 'running' AND worker_id = $7 AND attempts = $8`),
		string(j.Status), nullString(string(j.Result)), nullString(j.Error), j.ResultTruncated, finished, j.RequestID, j.WorkerID, j.Attempts,
		rows, chunks, bytes, attempt, chunkRows)
	if err != nil {
		return false, fmt.Errorf("finish %s: %w", j.RequestID, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n != 1 {
		return false, err
	}
	return true, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Release implements jobs.Store.
func (s *Jobs) Release(ctx context.Context, id, worker string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE gateway_deferred_requests
		SET status = 'queued', worker_id = NULL, lease_until = NULL, updated_at = $1
		WHERE request_id = $2 AND status = 'running' AND worker_id = $3`), ms(time.Now()), id, worker)
	if err != nil {
		return fmt.Errorf("release %s: %w", id, err)
	}
	return nil
}

// Get implements jobs.Store.
func (s *Jobs) Get(ctx context.Context, id string) (*core.Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, s.q(`SELECT `+jobColumns+` FROM gateway_deferred_requests WHERE request_id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("job %s: %w", id, core.ErrNotFound)
	}
	return j, err
}

// List implements jobs.Store: newest first.
func (s *Jobs) List(ctx context.Context, f jobs.ListFilter) ([]*core.Job, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Owner != nil {
		if *f.Owner == "" {
			where = append(where, "owner_key IS NULL")
		} else {
			add("owner_key = $%d", *f.Owner)
		}
	}
	if f.Client != "" {
		add("client_name = $%d", f.Client)
	}
	if f.Status != "" {
		// Literals, not a parameter: each status has its partial index
		// (queued, running or done), which the planners of both dialects
		// use only when the query names the index's own condition.
		cond, ok := statusCondition[f.Status]
		if !ok {
			return nil, core.Errorf(core.CodeBadRequest, "status: expected queued, running, completed, failed or canceled, got %q", core.Truncate(string(f.Status), 32))
		}
		where = append(where, cond)
	}
	stmt := `SELECT ` + jobColumns + ` FROM gateway_deferred_requests`
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit, f.Offset)
	stmt += fmt.Sprintf(" ORDER BY created_at DESC, request_id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	rows, err := s.db.QueryContext(ctx, s.q(stmt), args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// statusCondition is List's condition for each status. A terminal one
// repeats the done index's condition: SQLite's planner uses a partial
// index only when the query contains the index's WHERE term itself.
var statusCondition = map[core.JobStatus]string{
	core.JobQueued:    "status = 'queued'",
	core.JobRunning:   "status = 'running'",
	core.JobCompleted: "status = 'completed' AND " + terminalCondition,
	core.JobFailed:    "status = 'failed' AND " + terminalCondition,
	core.JobCanceled:  "status = 'canceled' AND " + terminalCondition,
}

// terminalCondition is the condition of the done index.
const terminalCondition = "status IN ('completed', 'failed', 'canceled')"

// Requeue implements jobs.Store.
func (s *Jobs) Requeue(ctx context.Context, id string, now time.Time) (*core.Job, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE gateway_deferred_requests
		SET status = 'queued', attempts = 0, worker_id = NULL, lease_until = NULL, started_at = NULL,
			finished_at = NULL, error = NULL, result = NULL, result_truncated = $1, updated_at = $2,
			result_rows = NULL, result_chunks = NULL, result_bytes = 0, result_attempt = NULL, result_chunk_rows = NULL
		WHERE request_id = $3 AND status IN ('completed', 'failed')
		RETURNING `+jobColumns), false, ms(now), id)
	if err != nil {
		return nil, fmt.Errorf("requeue %s: %w", id, err)
	}
	jobs, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("requeue %s: %w", id, err)
	}
	if len(jobs) == 1 {
		if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM gateway_deferred_results WHERE request_id = $1`), id); err != nil {
			return nil, fmt.Errorf("requeue %s: delete the old result: %w", id, err)
		}
		return jobs[0], nil
	}
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return nil, core.Errorf(core.CodeConflict, "deferred request %q is %s; only completed or failed requests can be requeued", id, cur.Status)
}

// Cancel implements jobs.Store.
func (s *Jobs) Cancel(ctx context.Context, id string, now time.Time) (*core.Job, core.JobStatus, error) {
	// Read the state first: RETURNING shows only the new row.
	cur, err := s.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if cur.Status.Terminal() {
		return nil, cur.Status, core.Errorf(core.CodeConflict, "deferred request %q is already %s", id, cur.Status)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE gateway_deferred_requests
		SET status = 'canceled', error = 'canceled by a client', finished_at = $1, updated_at = $1, lease_until = NULL
		WHERE request_id = $2 AND status = $3
		RETURNING `+jobColumns), ms(now), id, string(cur.Status))
	if err != nil {
		return nil, "", fmt.Errorf("cancel %s: %w", id, err)
	}
	jobs, err := collect(rows)
	if err != nil {
		return nil, "", fmt.Errorf("cancel %s: %w", id, err)
	}
	if len(jobs) == 0 {
		// It changed between the read and the update: try again.
		return s.Cancel(ctx, id, now)
	}
	return jobs[0], cur.Status, nil
}

// activeStatsQuery counts queued and running jobs through the partial
// index of their status (queued, lease), never the table itself; only the
// oldest queued job's creation is read. statsQuery adds the terminal jobs,
// through the index of terminal rows: a walk over every finished job kept.
const (
	activeStatsQuery = `SELECT 'queued', count(*), min(created_at) FROM gateway_deferred_requests WHERE status = 'queued'
	UNION ALL SELECT 'running', count(*), NULL FROM gateway_deferred_requests WHERE status = 'running'`
	statsQuery = activeStatsQuery + `
	UNION ALL SELECT status, count(*), NULL FROM gateway_deferred_requests WHERE ` + terminalCondition + ` GROUP BY status`
)

// Stats implements jobs.Store.
func (s *Jobs) Stats(ctx context.Context, terminal bool) (map[core.JobStatus]int64, time.Time, error) {
	query := activeStatsQuery
	if terminal {
		query = statsQuery
	}
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("queue stats: %w", err)
	}
	defer rows.Close()
	counts := map[core.JobStatus]int64{}
	var oldest time.Time
	for rows.Next() {
		var status string
		var n int64
		var first sql.NullInt64
		if err := rows.Scan(&status, &n, &first); err != nil {
			return nil, time.Time{}, fmt.Errorf("queue stats: %w", err)
		}
		if n == 0 {
			continue
		}
		counts[core.JobStatus(status)] = n
		if status == string(core.JobQueued) && first.Valid {
			oldest = time.UnixMilli(first.Int64)
		}
	}
	return counts, oldest, rows.Err()
}

// Prune implements jobs.Store. It walks the index of terminal jobs by
// status and creation: a job finished before the cutoff was created before
// it too.
func (s *Jobs) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM gateway_deferred_results WHERE request_id IN (
		SELECT request_id FROM gateway_deferred_requests
		WHERE status IN ('completed', 'failed', 'canceled') AND created_at < $1 AND finished_at < $1)`), ms(cutoff)); err != nil {
		return 0, fmt.Errorf("prune results: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM gateway_deferred_requests
		WHERE status IN ('completed', 'failed', 'canceled') AND created_at < $1 AND finished_at < $1`), ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune: %w", err)
	}
	return res.RowsAffected()
}

var _ jobs.Store = (*Jobs)(nil)
