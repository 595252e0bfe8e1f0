-- Issue 5: API keys and rights, the catalog's runtime columns, request and
-- operation logs, client statistics, and the change counter that gateway
-- nodes poll to pick up admin changes made on other nodes.

-- athena_control_version has one row; every admin change to keys, rights,
-- enforcement or the client catalog bumps it in the same transaction.
CREATE TABLE IF NOT EXISTS athena_control_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO athena_control_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;

-- Runtime-created clients need more than 0001 stored: a PostgreSQL URI
-- given inline (never returned by the API), Scylla settings and a pool cap.
ALTER TABLE athena_clients ADD COLUMN IF NOT EXISTS uri TEXT;
ALTER TABLE athena_clients ADD COLUMN IF NOT EXISTS hosts TEXT;
ALTER TABLE athena_clients ADD COLUMN IF NOT EXISTS keyspace TEXT;
ALTER TABLE athena_clients ADD COLUMN IF NOT EXISTS max_conns INTEGER NOT NULL DEFAULT 0;

-- api_keys stores salt and HMAC-SHA256(salt, secret); the secret itself is
-- shown once at creation and never stored.
CREATE TABLE IF NOT EXISTS api_keys (
    public_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    client_name TEXT,
    salt        BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    expires_at  TIMESTAMPTZ,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    archived_at TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_key_rights (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    built_in    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO api_key_rights (name, description, built_in) VALUES
    ('gateway.read', 'fetch rows', TRUE),
    ('gateway.write', 'insert and update rows', TRUE),
    ('gateway.delete', 'delete rows', TRUE),
    ('gateway.query', 'raw SQL or CQL (/gateway/query, /query/sql)', TRUE),
    ('gateway.*', 'every gateway right', TRUE),
    ('*', 'every right', TRUE)
ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS api_key_right_links (
    api_key_id TEXT NOT NULL REFERENCES api_keys (public_id) ON DELETE CASCADE,
    right_id   BIGINT NOT NULL REFERENCES api_key_rights (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, right_id)
);

CREATE TABLE IF NOT EXISTS api_key_config (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    enforce_api_keys BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO api_key_config (id, enforce_api_keys) VALUES (1, FALSE) ON CONFLICT (id) DO NOTHING;

-- api_key_client overrides enforce_api_keys for one client.
CREATE TABLE IF NOT EXISTS api_key_client (
    client_name      TEXT PRIMARY KEY,
    enforce_api_keys BOOLEAN NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_key_auth_log (
    id          BIGSERIAL PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL,
    api_key_id  TEXT,
    client_name TEXT,
    right_name  TEXT,
    outcome     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS api_key_auth_log_created ON api_key_auth_log (created_at);

CREATE TABLE IF NOT EXISTS gateway_request_log (
    id          BIGSERIAL PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL,
    client_name TEXT NOT NULL,
    operation   TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    duration_us BIGINT NOT NULL,
    api_key_id  TEXT
);
CREATE INDEX IF NOT EXISTS gateway_request_log_client ON gateway_request_log (client_name, created_at);

CREATE TABLE IF NOT EXISTS gateway_operation_log (
    id          BIGSERIAL PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL,
    client_name TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    operation   TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    duration_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS gateway_operation_log_client ON gateway_operation_log (client_name, created_at);

CREATE TABLE IF NOT EXISTS client_statistics (
    client_name       TEXT PRIMARY KEY,
    total_requests    BIGINT NOT NULL DEFAULT 0,
    success_count     BIGINT NOT NULL DEFAULT 0,
    error_count       BIGINT NOT NULL DEFAULT 0,
    total_duration_us BIGINT NOT NULL DEFAULT 0,
    last_request_at   TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS client_table_statistics (
    client_name       TEXT NOT NULL,
    table_name        TEXT NOT NULL,
    operation         TEXT NOT NULL,
    total_operations  BIGINT NOT NULL DEFAULT 0,
    success_count     BIGINT NOT NULL DEFAULT 0,
    error_count       BIGINT NOT NULL DEFAULT 0,
    total_duration_us BIGINT NOT NULL DEFAULT 0,
    last_operation_at TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (client_name, table_name, operation)
);
