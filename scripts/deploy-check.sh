#!/usr/bin/env bash
# make deploy-check: the Helm chart linted and rendered offline for every values set in its
# ci/ folder, with the helm pinned in go.mod (go tool helm), then the Go tests that decode the
# rendered manifests strictly, check their wiring and build and start the image.
set -euo pipefail
cd "$(dirname "$0")/.."
chart=deploy/helm/contractgate
fail=0
for values in "$chart"/ci/*-values.yaml; do
  if ! go tool helm lint --strict --quiet "$chart" --values "$values"; then
    echo "deploy-check: helm lint failed with $values"; fail=1
  fi
  if ! go tool helm template contractgate "$chart" --namespace gateway --values "$values" >/dev/null; then
    echo "deploy-check: helm template failed with $values"; fail=1
  fi
done
go test -count=1 ./internal/tooling/deploycheck/... || fail=1
exit $fail
