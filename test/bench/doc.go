// Package bench holds the gateway-against-direct-driver benchmarks that
// `make bench` runs: the same point fetch over the WebSocket gateway, the
// REST gateway and pgx directly (BenchmarkPointFetch), memory per idle
// socket (BenchmarkIdleSockets), and point reads through the gateway
// against gocql directly (BenchmarkScyllaPointRead), each in one run so
// their ratios are the gateway's cost.
package bench
