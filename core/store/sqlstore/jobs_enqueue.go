package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/athena-go/athena/core"
	"github.com/athena-go/athena/core/jobs"
	"github.com/athena-go/athena/schema"
)

// EnqueueMany implements jobs.BatchEnqueuer: deferrals without an
// idempotency key submitted together. On PostgreSQL they are one INSERT
// over unnest'ed arrays (one array per column, so the statement's text is
// the same for every batch size and pgx caches one plan), one commit for
// all. The per-client cap is counted as Enqueue counts it, once per client
// in the batch, and the batch's own jobs of a client count in their order:
// a batch never passes the cap by itself. On SQLite (one writer) each job
// goes through Enqueue (EnqueueBatches is false there: the queue stores
// each deferral alone). stored[i] is false for a job the cap refused (or,
// on SQLite, that failed); the caller sends it through Enqueue alone,
// whose error says why.
func (s *Jobs) EnqueueMany(ctx context.Context, js []*core.Job, maxQueued int) (stored []bool, err error) {
	stored = make([]bool, len(js))
	for _, j := range js {
		if j.Request.IdempotencyKey != "" {
			return nil, errors.New("enqueue many: a job with an idempotency key goes through Enqueue")
		}
	}
	if s.dialect != schema.Postgres {
		for i, j := range js {
			existing, err := s.Enqueue(ctx, j, maxQueued)
			stored[i] = err == nil && existing == nil
		}
		return stored, nil
	}
	n := len(js)
	var (
		ids, clients, actions, reqs = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		owners                      = make([]*string, n)
		maxAttempts                 = make([]int32, n)
		created                     = make([]int64, n)
		handoffs                    = make([]bool, n)
		leases                      = make([]*int64, n)
		worker                      string
		at                          = make(map[string]int, n)
	)
	for i, j := range js {
		req, err := json.Marshal(j.Request)
		if err != nil {
			return nil, fmt.Errorf("enqueue %s: %w", j.RequestID, err)
		}
		at[j.RequestID] = i
		ids[i], clients[i], actions[i], reqs[i] = j.RequestID, j.ClientName, string(j.Action), string(req)
		maxAttempts[i], created[i] = int32(j.MaxAttempts), ms(j.CreatedAt)
		if j.Request.OwnerKey != "" {
			owners[i] = &j.Request.OwnerKey
		}
		if h, lease, _ := claimArgs(j); h == 1 {
			// Every hand-off of a batch is to this node's workers.
			handoffs[i], leases[i], worker = true, &lease.Int64, j.WorkerID
		}
	}
	var rows *sql.Rows
	if worker == "" {
		// No hand-off in the batch: every job is queued.
		rows, err = s.db.QueryContext(ctx, `WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::int8[], $7::text[])
				WITH ORDINALITY AS u(request_id, client_name, action, request, max_attempts, created_at, owner_key, n)
		), c AS (
			SELECT x.client_name, CASE WHEN $8::int8 < 0 THEN 0 ELSE (SELECT count(*) FROM gateway_deferred_requests d
				WHERE d.client_name = x.client_name AND d.status = 'queued') END AS queued
			FROM (SELECT DISTINCT client_name FROM u) x
		)
		INSERT INTO gateway_deferred_requests
			(request_id, client_name, action, request, status, attempts, max_attempts, created_at, updated_at, owner_key)
		SELECT r.request_id, r.client_name, r.action, r.request, 'queued', 0, r.max_attempts, r.created_at, r.created_at, r.owner_key
		FROM (SELECT u.*, row_number() OVER (PARTITION BY u.client_name ORDER BY u.n) AS rank FROM u) r
			JOIN c ON c.client_name = r.client_name
		WHERE $8::int8 < 0 OR c.queued + r.rank <= $8::int8
		RETURNING request_id, status`,
			ids, clients, actions, reqs, maxAttempts, created, owners, int64(maxQueued))
	} else {
		// A job handed to a local worker (handoff) is stored claimed,
		// started when it was deferred, unless a job was queued before
		// the batch.
		rows, err = s.db.QueryContext(ctx, `WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::int8[], $7::text[], $9::bool[], $10::int8[])
				WITH ORDINALITY AS u(request_id, client_name, action, request, max_attempts, created_at, owner_key, handoff, lease_until, n)
		), c AS (
			SELECT x.client_name, CASE WHEN $8::int8 < 0 THEN 0 ELSE (SELECT count(*) FROM gateway_deferred_requests d
				WHERE d.client_name = x.client_name AND d.status = 'queued') END AS queued
			FROM (SELECT DISTINCT client_name FROM u) x
		), h AS (
			SELECT NOT EXISTS (SELECT 1 FROM gateway_deferred_requests WHERE status = 'queued') AS free
		)
		INSERT INTO gateway_deferred_requests
			(request_id, client_name, action, request, status, attempts, max_attempts, created_at, updated_at, owner_key,
				worker_id, lease_until, started_at)
		SELECT r.request_id, r.client_name, r.action, r.request, CASE WHEN r.run THEN 'running' ELSE 'queued' END,
			CASE WHEN r.run THEN 1 ELSE 0 END, r.max_attempts, r.created_at, r.created_at, r.owner_key,
			CASE WHEN r.run THEN $11::text END, CASE WHEN r.run THEN r.lease_until END, CASE WHEN r.run THEN r.created_at END
		FROM (SELECT u.*, u.handoff AND h.free AS run, row_number() OVER (PARTITION BY u.client_name ORDER BY u.n) AS rank FROM u, h) r
			JOIN c ON c.client_name = r.client_name
		WHERE $8::int8 < 0 OR c.queued + r.rank <= $8::int8
		RETURNING request_id, status`,
			ids, clients, actions, reqs, maxAttempts, created, owners, int64(maxQueued), handoffs, leases, worker)
	}
	if err != nil {
		return nil, fmt.Errorf("enqueue %d jobs: %w", n, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, fmt.Errorf("enqueue %d jobs: %w", n, err)
		}
		if i, found := at[id]; found {
			stored[i] = true
			storedAs(js[i], core.JobStatus(status))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("enqueue %d jobs: %w", n, err)
	}
	return stored, nil
}

// EnqueueBatches implements jobs.BatchEnqueuer: on PostgreSQL only.
func (s *Jobs) EnqueueBatches() bool { return s.dialect == schema.Postgres }

var _ jobs.BatchEnqueuer = (*Jobs)(nil)

// EnqueuesClaimed implements jobs.ClaimingEnqueuer: Enqueue and EnqueueMany
// store a job handed to a local worker already claimed, in both dialects.
func (s *Jobs) EnqueuesClaimed() bool { return true }

var _ jobs.ClaimingEnqueuer = (*Jobs)(nil)

// claimArgs are the insert's arguments for a job's claim: whether it is
// handed to a local worker (1) and its lease's end and start (Unix ms),
// both NULL when it is not.
func claimArgs(j *core.Job) (handoff int, lease, started sql.NullInt64) {
	if j.Status != core.JobRunning {
		return 0, lease, started
	}
	lease = sql.NullInt64{Int64: ms(j.LeaseUntil), Valid: true}
	if j.StartedAt != nil {
		started = sql.NullInt64{Int64: ms(*j.StartedAt), Valid: true}
	}
	return 1, lease, started
}

// storedAs makes j say how it was stored: claimed (running, its first
// attempt) or queued, without a claim.
func storedAs(j *core.Job, status core.JobStatus) {
	if status == core.JobRunning && j.Status == core.JobRunning {
		j.Attempts = 1
		return
	}
	j.Status, j.Attempts, j.WorkerID, j.LeaseUntil, j.LeaseExpiresAt, j.StartedAt = core.JobQueued, 0, "", time.Time{}, nil, nil
}
