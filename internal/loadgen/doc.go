// Package loadgen is the load generator behind `athena bench` and the
// benchmarks of test/bench: it drives a gateway over WebSocket (many
// requests in flight per socket, matched by request_id) and REST
// keep-alive, and the same database directly with pgx at the same
// concurrency, and reports throughput, latency percentiles from a
// log-linear Histogram, the gateway/direct ratio and bytes on the wire.
//
// Entry points: Run(ctx, Config) measures the selected scenarios and
// returns a *Report (WriteTable, WriteJSON, WriteHTML render it), with
// Config.Baseline every gateway cell also against a second gateway in the
// same rounds (before/after); AnalyzeProfile breaks a gateway's CPU
// profile down by category (Report.AddProfile adds it to the report); Soak
// holds a mixed load and samples the gateway's /metrics; Idle measures
// server memory per idle socket; Live measures live queries
// (commit-to-event latency and the write cost of subscriptions);
// StartEmbedded starts an in-process gateway on a throwaway PostgreSQL
// for the tests (`athena bench --embedded` runs `athena serve` children
// instead); Setup creates and fills the benchmark tables.
//
// Every reply is checked (its request_id and the rows it must carry):
// a wrong answer ends the run with an error, so a fast wrong gateway
// cannot win. The load generator shares the machine with the gateway and
// often with the database, so its own CPU per request is kept small: REST
// requests go through a minimal keep-alive HTTP/1.1 client (httpconn.go,
// one connection per worker), and replies and WebSocket frames are parsed
// once with fastjson and checked from the parse tree (check.go), by
// encoding/json's decoding rules. Every goroutine the package starts is stopped and waited
// for before the function that started it returns (or by Close).
//
// It must not be imported by the gateway's own packages (core, rest, wss):
// it is a client of them.
package loadgen
