#!/usr/bin/env bash
# bench.sh runs the gateway-against-direct-driver benchmarks of test/bench
# and prints each transport's throughput and latency next to the direct
# driver's, measured in one run, plus server memory per idle WebSocket.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
BENCHTIME=${BENCHTIME:-2s}
out=$("$GO" test -run='^$' -bench='PointFetch|IdleSockets|ScyllaPointRead|DeferredRoundTrip' -benchtime="$BENCHTIME" ./test/bench | tee /dev/stderr)
echo
echo "$out" | awk '
	function metric(name,   i) { for (i = 1; i < NF; i++) if ($(i+1) == name) return $i; return "" }
	/^BenchmarkPointFetch\// {
		split($1, p, "/"); inflight = p[2]; sub("inflight=", "", inflight)
		via = p[3]; sub("via=", "", via); sub(/-[0-9]+$/, "", via)
		rps[inflight, via] = metric("req/s"); p50[inflight, via] = metric("p50-µs"); p99[inflight, via] = metric("p99-µs")
		if (!(inflight in seen)) { seen[inflight] = 1; order[++n] = inflight }
		vias[inflight] = vias[inflight] " " via
	}
	/^BenchmarkIdleSockets/ { idle = metric("KiB/socket") }
	/^BenchmarkDeferredRoundTrip\// {
		split($1, p, "/"); n2 = p[2]; sub(/-[0-9]+$/, "", n2)
		deferred = deferred sprintf("deferred round trip, %s: %.0f jobs/s, push p50 %.1f ms, p99 %.1f ms\n", n2, metric("jobs/s"), metric("push-p50-ms"), metric("push-p99-ms"))
	}
	/^BenchmarkScyllaPointRead\/via=gateway/ { sg = metric("ns/op") }
	/^BenchmarkScyllaPointRead\/via=gocql/ { sd = metric("ns/op") }
	END {
		printf "%-9s %-14s %10s %9s %9s %10s\n", "in flight", "via", "req/s", "p50 µs", "p99 µs", "vs pgx"
		for (k = 1; k <= n; k++) {
			f = order[k]; m = split(vias[f], v, " ")
			for (j = 1; j <= m; j++) {
				ratio = (rps[f, "pgx"] > 0) ? sprintf("%.0f%%", 100 * rps[f, v[j]] / rps[f, "pgx"]) : "-"
				printf "%-9s %-14s %10.0f %9.0f %9.0f %10s\n", f, v[j], rps[f, v[j]], p50[f, v[j]], p99[f, v[j]], ratio
			}
		}
		if (idle != "") printf "\nserver memory per idle WebSocket: %.1f KiB\n", idle
		if (deferred != "") printf "%s", deferred
		if (sg != "" && sd != "") printf "scylla point read: gateway REST %.0f req/s, gocql direct %.0f req/s, ratio %.0f%%\n", 1e9/sg, 1e9/sd, 100*sd/sg
	}'
