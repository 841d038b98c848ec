#!/usr/bin/env bash
# make fuzz: run every Fuzz target of the module for FUZZTIME each (default 20s).
# Crashers are written under the package's testdata/fuzz and then fail `make test` as
# regression seeds until fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}
for pkg in $(go list ./internal/...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
  done
done
