-- Issue 5: API keys and rights, the catalog's runtime columns, request and
-- operation logs, client statistics, and the change counter that gateway
-- nodes poll to pick up admin changes made on other nodes.

-- athena_control_version has one row; every admin change to keys, rights,
-- enforcement or the client catalog bumps it in the same transaction.
CREATE TABLE IF NOT EXISTS athena_control_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO athena_control_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;

-- Runtime-created clients need more than 0001 stored: a PostgreSQL URI
-- given inline (never returned by the API), Scylla settings and a pool cap.
ALTER TABLE athena_clients ADD COLUMN uri TEXT;
ALTER TABLE athena_clients ADD COLUMN hosts TEXT;
ALTER TABLE athena_clients ADD COLUMN keyspace TEXT;
ALTER TABLE athena_clients ADD COLUMN max_conns INTEGER NOT NULL DEFAULT 0;

-- api_keys stores salt and HMAC-SHA256(salt, secret); the secret itself is
-- shown once at creation and never stored.
CREATE TABLE IF NOT EXISTS api_keys (
    public_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    client_name TEXT,
    salt        BLOB NOT NULL,
    hash        BLOB NOT NULL,
    expires_at  TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT 1,
    archived_at TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE IF NOT EXISTS api_key_rights (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    built_in    BOOLEAN NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO api_key_rights (name, description, built_in) VALUES
    ('gateway.read', 'fetch rows', 1),
    ('gateway.write', 'insert and update rows', 1),
    ('gateway.delete', 'delete rows', 1),
    ('gateway.query', 'raw SQL or CQL (/gateway/query, /query/sql)', 1),
    ('gateway.*', 'every gateway right', 1),
    ('*', 'every right', 1)
ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS api_key_right_links (
    api_key_id TEXT NOT NULL REFERENCES api_keys (public_id) ON DELETE CASCADE,
    right_id   INTEGER NOT NULL REFERENCES api_key_rights (id) ON DELETE CASCADE,
    PRIMARY KEY (api_key_id, right_id)
);

CREATE TABLE IF NOT EXISTS api_key_config (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    enforce_api_keys BOOLEAN NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
INSERT INTO api_key_config (id, enforce_api_keys) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

-- api_key_client overrides enforce_api_keys for one client.
CREATE TABLE IF NOT EXISTS api_key_client (
    client_name      TEXT PRIMARY KEY,
    enforce_api_keys BOOLEAN NOT NULL,
    updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE IF NOT EXISTS api_key_auth_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    api_key_id  TEXT,
    client_name TEXT,
    right_name  TEXT,
    outcome     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS api_key_auth_log_created ON api_key_auth_log (created_at);

CREATE TABLE IF NOT EXISTS gateway_request_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    client_name TEXT NOT NULL,
    operation   TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL,
    api_key_id  TEXT
);
CREATE INDEX IF NOT EXISTS gateway_request_log_client ON gateway_request_log (client_name, created_at);

CREATE TABLE IF NOT EXISTS gateway_operation_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    client_name TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    operation   TEXT NOT NULL,
    status      TEXT NOT NULL,
    error_code  TEXT NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gateway_operation_log_client ON gateway_operation_log (client_name, created_at);

CREATE TABLE IF NOT EXISTS client_statistics (
    client_name       TEXT PRIMARY KEY,
    total_requests    INTEGER NOT NULL DEFAULT 0,
    success_count     INTEGER NOT NULL DEFAULT 0,
    error_count       INTEGER NOT NULL DEFAULT 0,
    total_duration_us INTEGER NOT NULL DEFAULT 0,
    last_request_at   TEXT,
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE IF NOT EXISTS client_table_statistics (
    client_name       TEXT NOT NULL,
    table_name        TEXT NOT NULL,
    operation         TEXT NOT NULL,
    total_operations  INTEGER NOT NULL DEFAULT 0,
    success_count     INTEGER NOT NULL DEFAULT 0,
    error_count       INTEGER NOT NULL DEFAULT 0,
    total_duration_us INTEGER NOT NULL DEFAULT 0,
    last_operation_at TEXT,
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (client_name, table_name, operation)
);
