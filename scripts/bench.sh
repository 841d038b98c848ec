#!/usr/bin/env bash
# make bench: Go microbenchmarks with -benchmem, written to bench/<commit>.txt in a form
# benchstat reads. Compare two commits with: go run golang.org/x/perf/cmd/benchstat A B
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench
rev=$(git rev-parse --short HEAD 2>/dev/null || echo worktree)
out="bench/${rev}.txt"
go test -run='^$' -bench=. -benchmem -count="${BENCH_COUNT:-5}" ./... | tee "$out"
echo "bench: results in $out"
