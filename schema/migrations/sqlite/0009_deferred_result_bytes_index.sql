-- The stored result bytes of each client (issue 19): the result gauges,
-- refreshed every few seconds, and the per-client quota sum the jobs
-- whose result is stored in chunks (result_bytes > 0). Without an index
-- of their own both read every job kept for gateway.deferred_retention,
-- a walk that grows with the table (about 200 ms per refresh at 50,000
-- jobs on the benchmark's machine); only jobs with a stored result enter
-- this one, and a job whose result stays in its row never does.
CREATE INDEX IF NOT EXISTS gateway_deferred_requests_result_bytes
    ON gateway_deferred_requests (client_name, result_bytes) WHERE result_bytes > 0;
