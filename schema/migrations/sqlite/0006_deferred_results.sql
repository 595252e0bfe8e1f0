-- Deferred results of any size (issue #18) and idempotent deferral (#14).
--
-- idempotency_key is the key a client chose for a deferral
-- (X-Athena-Idempotency-Key, or a frame's idempotency_key): one job per
-- client, owner and key. request_hash fingerprints what was deferred, so the
-- same key with another request is refused instead of answered with the
-- wrong job.
ALTER TABLE gateway_deferred_requests ADD COLUMN idempotency_key TEXT;
ALTER TABLE gateway_deferred_requests ADD COLUMN request_hash TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS gateway_deferred_requests_idempotency
    ON gateway_deferred_requests (client_name, COALESCE(owner_key, ''), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The per-client cap on queued jobs counts them by client and status.
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_client_status ON gateway_deferred_requests (client_name, status);

-- A stored result: its size, and the attempt whose chunks hold it (chunks
-- of an attempt that did not finish are never read and are deleted).
ALTER TABLE gateway_deferred_requests ADD COLUMN result_rows INTEGER;
ALTER TABLE gateway_deferred_requests ADD COLUMN result_chunks INTEGER;
ALTER TABLE gateway_deferred_requests ADD COLUMN result_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gateway_deferred_requests ADD COLUMN result_attempt INTEGER;
ALTER TABLE gateway_deferred_requests ADD COLUMN result_chunk_rows INTEGER;

-- The rows of a stored result, in chunks of up to chunk_rows rows, each
-- row one line of JSON (newline-separated). The store deletes them with
-- their job (foreign keys are not enforced on every SQLite connection).
CREATE TABLE IF NOT EXISTS gateway_deferred_results (
    request_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    data        TEXT NOT NULL,
    PRIMARY KEY (request_id, attempt, seq)
);
