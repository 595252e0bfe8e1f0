#!/usr/bin/env bash
# bench.sh builds athena and runs a short `athena bench --embedded` profile:
# a throwaway PostgreSQL and an in-process gateway, every scenario, each
# cell warmed up and measured in alternating gateway/direct rounds (about
# two minutes on 2 cores). It prints the table and writes an HTML report.
#
#   BENCH_DURATION=5s BENCH_WARMUP=1s ./test/bench.sh   # longer cells
#   BENCH_ARGS='--scenarios point,idle' ./test/bench.sh
#   BENCH_MICRO=1 ./test/bench.sh                       # also core/rest/wss micro-benchmarks
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GO=${GO:-go}
DURATION=${BENCH_DURATION:-1500ms}
WARMUP=${BENCH_WARMUP:-300ms}
REPORT=${BENCH_REPORT:-${TMPDIR:-/tmp}/athena-bench.html}
if [ -n "${BENCH_MICRO:-}" ]; then
	"$GO" test -run='^$' -bench=. -benchmem ./core/... ./rest/ ./wss/
fi
"$GO" build -o bin/athena ./cmd/athena
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
./bin/athena bench --embedded --duration "$DURATION" --warmup "$WARMUP" --report "$REPORT" ${BENCH_ARGS:-}
