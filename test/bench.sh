#!/usr/bin/env bash
# bench.sh runs the gateway-against-pgx benchmark and prints the gateway's
# throughput as a share of direct pgx, measured in one run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
BENCHTIME=${BENCHTIME:-3s}
out=$("$GO" test -run='^$' -bench='FetchPoint' -benchtime="$BENCHTIME" -benchmem ./test/bench | tee /dev/stderr)
echo
echo "$out" | awk '
	/via=gateway-rest/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") gw = $i }
	/via=pgx-direct/   { for (i = 1; i <= NF; i++) if ($(i+1) == "ns/op") px = $i }
	END {
		if (gw == "" || px == "") { print "bench: missing results"; exit 1 }
		printf "point fetch, 16 in flight: gateway REST %.0f req/s, pgx direct %.0f req/s, ratio %.0f%%\n", 1e9/gw, 1e9/px, 100*px/gw
	}'
