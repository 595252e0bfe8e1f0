-- The client catalog: named backends beside those in config.yaml.
CREATE TABLE IF NOT EXISTS athena_clients (
    client_name       TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    uri_env           TEXT,
    path              TEXT,
    description       TEXT,
    source            TEXT NOT NULL DEFAULT 'admin',
    is_active         BOOLEAN NOT NULL DEFAULT 1,
    is_frozen         BOOLEAN NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
