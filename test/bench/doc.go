// Package bench holds the gateway-against-direct-driver benchmarks that
// `make bench` runs: the same query through the REST gateway and through pgx
// directly, in one run, so their ratio is the gateway's cost.
package bench
