#!/usr/bin/env bash
# make check: formatting, vet, module tidiness, and drift between api/ and gen/.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

unformatted=$(gofmt -l $(git ls-files -co --exclude-standard '*.go' | grep -v '^gen/'))
if [[ -n "$unformatted" ]]; then
  echo "check: gofmt needed on:"; echo "$unformatted"; fail=1
fi

go vet ./... || fail=1

# Pinned linter (config: .golangci.yml). `go run pkg@version` leaves go.mod alone.
go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run ./... || fail=1

if ! go mod tidy -diff; then
  echo "check: go.mod/go.sum are not tidy (run: go mod tidy)"; fail=1
fi

make -s generate
untracked=$(git ls-files --others --exclude-standard -- gen/)
if ! git diff --exit-code --stat -- gen/ || [[ -n "$untracked" ]]; then
  echo "check: gen/ differs from what 'make generate' produces from api/:"
  git diff --stat -- gen/; [[ -z "$untracked" ]] || echo "untracked: $untracked"
  echo "run 'make generate' and commit the result"; fail=1
fi

./scripts/lint-spec.sh || fail=1

./scripts/deploy-check.sh || fail=1

exit $fail
