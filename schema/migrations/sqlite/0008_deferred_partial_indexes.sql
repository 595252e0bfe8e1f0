-- Narrower indexes on the deferred queue (issue 19). A job's row is
-- written three times (insert; claim unless handed off; finish), and no
-- update of its status can be a HOT update, so every version of the row
-- gets an entry in every index whose predicate it satisfies. The queue's
-- reads of queued jobs (the claim, the hand-off's "nothing queued" test,
-- the per-client cap) now read indexes of queued rows only, which the
-- claim's and the finish's versions skip:
--   queued        the claim (oldest first), "is anything queued", the list
--                 of queued jobs;
--   queued_client the per-client cap on queued jobs;
--   lease         (running jobs) the lease sweeps and the
--                 list of running jobs;
--   done          terminal jobs by status and creation: the list of
--                 completed, failed or canceled jobs and the retention
--                 prune (a job finishes after it is created, so
--                 finished_at < cutoff implies created_at < cutoff);
--   owner         keyed jobs only: a list by owner names the key (jobs
--                 without one are listed by client, with the client index).
DROP INDEX IF EXISTS gateway_deferred_requests_claim;
DROP INDEX IF EXISTS gateway_deferred_requests_client_status;
DROP INDEX IF EXISTS gateway_deferred_requests_finished;
DROP INDEX IF EXISTS gateway_deferred_requests_owner;
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_queued
    ON gateway_deferred_requests (created_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_queued_client
    ON gateway_deferred_requests (client_name) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_done
    ON gateway_deferred_requests (status, created_at) WHERE status IN ('completed', 'failed', 'canceled');
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_owner
    ON gateway_deferred_requests (owner_key, created_at) WHERE owner_key IS NOT NULL;
-- SQLite's lease index covered every row: it now covers running jobs only,
-- as PostgreSQL's always did.
DROP INDEX IF EXISTS gateway_deferred_requests_lease;
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_lease
    ON gateway_deferred_requests (lease_until) WHERE status = 'running';
