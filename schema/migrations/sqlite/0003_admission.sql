-- Admission control (issue 4, DESIGN.md §6): every decision that is not a
-- plain admit. Times are Unix milliseconds (UTC), like the deferred queue.
CREATE TABLE IF NOT EXISTS gateway_admission_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   BIGINT NOT NULL,
    client_name  TEXT NOT NULL,
    route        TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('deferred', 'rejected')),
    limit_kind   TEXT NOT NULL CHECK (limit_kind IN ('global', 'client')),
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    limit_value  BIGINT NOT NULL,
    request_id   TEXT
);
CREATE INDEX IF NOT EXISTS gateway_admission_events_created ON gateway_admission_events (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS gateway_admission_events_client ON gateway_admission_events (client_name, created_at DESC);
