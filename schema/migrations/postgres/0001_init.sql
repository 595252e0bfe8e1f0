-- The client catalog: named backends beside those in config.yaml.
CREATE TABLE IF NOT EXISTS athena_clients (
    client_name       TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    uri_env           TEXT,
    path              TEXT,
    description       TEXT,
    source            TEXT NOT NULL DEFAULT 'admin',
    is_active         BOOLEAN NOT NULL DEFAULT TRUE,
    is_frozen         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
