-- A deferred job belongs to the API key that deferred it (its public id;
-- NULL when no key was checked, and the job belongs to its client). Lists
-- of a key's jobs read it newest first.
ALTER TABLE gateway_deferred_requests ADD COLUMN owner_key TEXT;
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_owner ON gateway_deferred_requests (owner_key, created_at);
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_client ON gateway_deferred_requests (client_name, created_at);
