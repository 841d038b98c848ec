#!/usr/bin/env bash
# make check: the contract's quality gate, three steps, all run even when one fails.
#   1. Redocly CLI, the standard OpenAPI 3.1 linter, pinned in web/lint/package-lock.json
#      and configured by web/lint/redocly.yaml (offline once web/lint/node_modules exists);
#   2. the project's own rules (internal/tooling/speclint): envelope errors, strict request bodies,
#      constrained path parameters, pagination, valid examples;
#   3. the breaking-change gate (internal/tooling/breaking): api/openapi.yaml against the last
#      released contract api/released/openapi.yaml, allowed only with a major version bump.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=api/openapi.yaml
released=api/released/openapi.yaml
lint=web/lint
fail=0

# The linter is installed by `npm ci` from the lockfile (.ci/run does it first); install it
# here when it is missing or another version, so that `make check` works on a fresh clone.
want=$(node -p "require('./$lint/package.json').devDependencies['@redocly/cli']")
have=$(node -p "try { require('./$lint/node_modules/@redocly/cli/package.json').version } catch { '' }")
if [[ "$have" != "$want" ]]; then
  echo "lint-spec: installing @redocly/cli $want (npm ci in $lint)"
  npm ci --prefix "$lint" --no-audit --no-fund --loglevel=error
fi

echo "lint-spec: redocly lint $spec"
REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 \
  "$lint/node_modules/.bin/redocly" lint --config "$lint/redocly.yaml" "$spec" || fail=1

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/speclint" ./cmd/speclint

echo "lint-spec: speclint $spec"
"$bin/speclint" lint "$spec" || fail=1

echo "lint-spec: speclint breaking --base $released $spec"
"$bin/speclint" breaking --base "$released" "$spec" || fail=1

exit $fail
