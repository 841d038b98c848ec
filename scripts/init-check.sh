#!/usr/bin/env bash
# make init-check: what a team adopting contractgate does, in a scratch copy of this tree:
# `make init NAME=acme`, then generate, build, test, check, and `make run` answering the bound
# operation from the example upstream's examples. CI runs it; it leaves this tree alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# The tree as it is (tracked and untracked files, not ignored ones), its npm installs linked.
git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$scratch"
for d in sdk/typescript web/lint web/docs; do
  [[ -d "$root/$d/node_modules" ]] && ln -s "$root/$d/node_modules" "$scratch/$d/node_modules"
done
cd "$scratch"
git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm scratch

echo "init-check: make init NAME=acme"
make -s init NAME=acme
git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm acme
echo "init-check: make test"
make -s test
echo "init-check: make check"
make -s check
echo "init-check: make sdk"
make -s sdk   # the SDK packages follow the app: built from acme's contract
ls dist/sdk/typescript/contractgate-acme-sdk-*.tgz dist/sdk/go/module/VERSION >/dev/null
echo "init-check: make run"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
CONTRACTGATE_SERVER_ADDR=127.0.0.1:$port setsid make -s run > run.log 2>&1 & pids+=($!)
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat run.log; echo "init-check: make run exited" >&2; exit 1; }
  sleep 0.2
done
body=$(curl -sS "http://127.0.0.1:$port/v1/items/itm_0001")
echo "$body"
grep -q '"success":true' <<<"$body" && grep -q '"id":"itm_0001"' <<<"$body" && ! grep -q internalNote <<<"$body" || {
  cat run.log; echo "init-check: the bound operation did not answer in the envelope" >&2; exit 1; }
kill -TERM -- "-${pids[0]}" 2>/dev/null || true
echo "init-check: ok (make init, generate, test, check, sdk, run)"
