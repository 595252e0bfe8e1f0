-- The deferred-request queue. Times are Unix milliseconds (UTC).
CREATE TABLE IF NOT EXISTS gateway_deferred_requests (
    request_id        TEXT PRIMARY KEY,
    client_name       TEXT NOT NULL,
    action            TEXT NOT NULL,
    request           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL DEFAULT 3,
    worker_id         TEXT,
    lease_until       BIGINT,
    created_at        BIGINT NOT NULL,
    started_at        BIGINT,
    finished_at       BIGINT,
    updated_at        BIGINT NOT NULL,
    error             TEXT,
    result            TEXT,
    result_truncated  BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_claim ON gateway_deferred_requests (status, created_at);
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_lease ON gateway_deferred_requests (lease_until) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_finished ON gateway_deferred_requests (finished_at) WHERE status IN ('completed', 'failed', 'canceled');
