package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	}
	rows, err := s.db.QueryContext(ctx, `WITH u AS (
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
		RETURNING request_id`,
		ids, clients, actions, reqs, maxAttempts, created, owners, int64(maxQueued))
	if err != nil {
		return nil, fmt.Errorf("enqueue %d jobs: %w", n, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("enqueue %d jobs: %w", n, err)
		}
		if i, found := at[id]; found {
			stored[i] = true
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
