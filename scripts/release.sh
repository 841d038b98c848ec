#!/usr/bin/env bash
# make release: record api/openapi.yaml as the last released contract,
# api/released/openapi.yaml, the base of the breaking-change gate in make check. The
# snapshot is the contract bundled (`speclint bundle`: the shared components.yaml moved
# into it), so that it stays what clients got even when components.yaml changes later.
# A release is a new info.version that passes the contract rules and the gate (a breaking
# change needs a major bump). Commit the snapshot with the release.
# It also adds the release's section to api/released/CHANGELOG.md (internal/tooling/changelog:
# what changed since the previous release, in plain words, breaking changes first), which
# `make sdk` ships in the SDK packages.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=api/openapi.yaml
released=api/released/openapi.yaml
changes=api/released/CHANGELOG.md

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/speclint" ./cmd/speclint
go build -o "$bin/changelog" ./internal/tooling/changelog/cmd/changelog

bundled=$bin/openapi.yaml
"$bin/speclint" bundle -o "$bundled" "$spec"
if [[ -f "$released" ]] && cmp -s "$bundled" "$released"; then
  echo "release: $spec is already the released contract ($("$bin/speclint" version "$spec"))"
  exit 0
fi

"$bin/speclint" lint "$spec"
version=$("$bin/speclint" version "$spec")
if [[ -f "$released" ]]; then
  previous=$("$bin/speclint" version "$released")
  if [[ "$version" == "$previous" ]]; then
    echo "release: $spec changed since the release of $previous but info.version is still $previous; bump it" >&2
    exit 1
  fi
  "$bin/speclint" breaking --base "$released" "$spec"
fi

mkdir -p "$(dirname "$released")"
base=()
[[ -f "$released" ]] && base=(-base "$released")
"$bin/changelog" "${base[@]}" -date "$(date -u +%F)" -o "$changes" "$bundled"
cp "$bundled" "$released"
echo "release: $released is now $version, $changes has its changes; commit them with the release"
