// Package bench holds the gateway-against-direct-driver benchmarks, thin
// wrappers over internal/loadgen (the engine of `athena bench`): point
// fetches over WebSocket, REST and pgx (BenchmarkPointFetch), the deferred
// job round trip (BenchmarkDeferredRoundTrip), memory per idle socket of a
// separate `athena serve` (BenchmarkIdleSockets), point reads through the
// gateway against gocql directly (BenchmarkScyllaPointRead, and at several
// numbers in flight BenchmarkScyllaInFlight), totals per
// region over a million rows via aggregate against client-side sums over
// streamed rows (BenchmarkAggregateTotals), and the test-sized soak
// (TestSoak) that fails on unbounded growth.
package bench
