-- The request and API-key logs are written on every call and read only
-- whole (POST /admin/clients/statistics/refresh aggregates the request
-- log by client; nothing reads the auth log), so their secondary indexes
-- cost an index insert per row and serve no query (issue 19). Their
-- primary key (id, which grows with the insert order) remains. The
-- operation log keeps (client_name, created_at): the client drill-down
-- filters on it.
DROP INDEX IF EXISTS gateway_request_log_client;
DROP INDEX IF EXISTS api_key_auth_log_created;
