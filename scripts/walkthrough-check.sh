#!/usr/bin/env bash
# make walkthrough-check: README "Add an operation in five minutes", done as written on the
# storefront, in a scratch copy of this tree. The snippets come from the README itself, by
# their markers (<!-- walkthrough:NAME --> before a fenced block):
#   paths-binding, schemas-binding          the bound operation (inserted under paths: and
#   paths-handwritten, schemas-handwritten  components.schemas) and the hand-written one
#   go <file>                               the hand-written method, written to <file>
#   curl-binding, curl-handwritten          the calls, made against `make run`
# Then the README's commands: make generate, go build ./... (and, before the Go file is
# written, that it fails naming the missing method), the tests, make check, make run + curl.
# The tests are the app's (go test ./internal/app/...); WALKTHROUGH_MAKE_TEST=1 runs make test.
# CI runs it; it leaves this tree alone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=$(mktemp -d)
pgid=
stop() { # stop the running `make run` (its whole process group) and wait until it is gone
  [[ -n "$pgid" ]] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
  pgid=
}
cleanup() {
  stop
  rm -rf "$scratch"
}
trap cleanup EXIT
step() { echo "walkthrough-check: $*"; }
fail() { echo "walkthrough-check: FAIL: $*" >&2; exit 1; }

# snippet NAME prints the fenced block that follows <!-- walkthrough:NAME --> in the README,
# without the fence's indentation.
snippet() {
  local out
  out=$(awk -v want="<!-- walkthrough:$1 -->" '
    state == 0 { t = $0; sub(/^[ \t]+/, "", t); sub(/[ \t]+$/, "", t); if (t == want) state = 1; next }
    state == 1 { if (match($0, /^[ \t]*```/)) { ind = RLENGTH - 3; state = 2 }; next }
    state == 2 { if ($0 ~ /^[ \t]*```[ \t]*$/) exit; print substr($0, ind + 1) }
  ' "$readme")
  [[ -n "$out" ]] || fail "README.md has no snippet <!-- walkthrough:$1 -->"
  printf '%s\n' "$out"
}

# insert KIND NAME puts snippet NAME into api/openapi.yaml: a path block right before the line
# `components:` (the end of `paths:`), a schema block right after components' `  schemas:`.
insert() {
  local kind=$1 file
  file=$(mktemp)
  snippet "$2" > "$file"
  awk -v kind="$kind" -v file="$file" '
    function put() { while ((getline l < file) > 0) print l; close(file); done = 1 }
    kind == "paths" && !done && $0 == "components:" { put() }
    { print }
    $0 == "components:" { incomp = 1 }
    kind == "schemas" && !done && incomp && $0 == "  schemas:" { put() }
    END { if (!done) exit 3 }
  ' api/openapi.yaml > api/openapi.yaml.new || fail "no place for $2 in api/openapi.yaml"
  mv api/openapi.yaml.new api/openapi.yaml
  rm -f "$file"
}

run_tests() {
  if [[ "${WALKTHROUGH_MAKE_TEST:-}" == 1 ]]; then
    step "make test"; make -s test
  else
    step "go test ./internal/app/..."; go test -count=1 ./internal/app/...
  fi
}

check() {
  step "git add api gen internal; make check"
  git add api gen internal
  make -s check
}

# serve runs `make run` on a free port; call URL... each curl snippet, with the README's
# address replaced by the port's, and checks what it answers.
port=
serve() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18081)
  step "make run (CONTRACTGATE_SERVER_ADDR=127.0.0.1:$port)"
  rm -f run.pgid
  CONTRACTGATE_SERVER_ADDR=127.0.0.1:$port setsid bash -c 'echo $$ > run.pgid; exec make -s run' > run.log 2>&1 &
  for _ in $(seq 1 50); do [[ -s run.pgid ]] && break; sleep 0.1; done
  pgid=$(cat run.pgid)
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    kill -0 -- "-$pgid" 2>/dev/null || { cat run.log; fail "make run exited"; }
    sleep 0.2
  done
  cat run.log; fail "make run: the gateway did not become ready"
}
call() { # call NAME: run curl snippet NAME against the running gateway, print its answer
  local cmd
  cmd=$(snippet "$1")
  cmd=${cmd//127.0.0.1:8080/127.0.0.1:$port}
  step "$cmd" >&2
  bash -c "$cmd"
}

# The tree as it is (tracked and untracked files, not ignored ones), its npm installs linked.
git ls-files -z -co --exclude-standard | grep -zvE '(^|/)node_modules$' | xargs -0 cp --parents -t "$scratch"
for d in sdk/typescript web/lint web/docs; do
  [[ -d "$root/$d/node_modules" ]] && ln -s "$root/$d/node_modules" "$scratch/$d/node_modules"
done
cd "$scratch"
readme="$scratch/README.md"
git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm scratch
start=$SECONDS

# A bound operation: zero Go.
step "bound operation: the contract"
insert paths paths-binding
insert schemas schemas-binding
step "make generate"; make -s generate
step "go build ./..."; go build ./...
run_tests
check
serve
body=$(call curl-binding); echo "$body"
grep -q '"success":true' <<<"$body" && grep -q '"id":"alice"' <<<"$body" || { cat run.log; fail "the bound operation did not answer alice's profile in the envelope"; }
! grep -q '"email"' <<<"$body" || fail "the bound operation leaked a property its public schema does not declare (email)"
stop

# A hand-written operation: the compiler names the missing method, then the method.
step "hand-written operation: the contract"
insert paths paths-handwritten
insert schemas schemas-handwritten
step "make generate"; make -s generate
goname=$(awk '/^<!-- walkthrough:go / { sub(/^<!-- walkthrough:go /, ""); sub(/ -->.*/, ""); print }' "$readme")
[[ $(wc -l <<<"$goname") == 1 && -n "$goname" ]] || fail "README.md needs exactly one <!-- walkthrough:go FILE --> snippet"
gosrc=$(snippet "go $goname")
method=$(sed -nE 's/^func \(h \*Handlers\) ([A-Za-z0-9_]+)\(.*/\1/p' <<<"$gosrc" | head -1)
[[ -n "$method" ]] || fail "the Go snippet defines no method on *Handlers"
step "go build ./... (fails, naming $method)"
if out=$(go build ./... 2>&1); then fail "go build succeeded without $method"; fi
echo "$out"
grep -q "missing method $method" <<<"$out" || fail "go build's error does not name the missing method $method"
step "write $goname"
[[ ! -e "$goname" ]] || fail "$goname exists already: the README says to create it"
printf '%s\n' "$gosrc" > "$goname"
step "go build ./..."; go build ./...
run_tests
check
serve
body=$(call curl-binding); echo "$body"
grep -q '"success":true' <<<"$body" || { cat run.log; fail "the bound operation did not answer in the envelope"; }
body=$(call curl-handwritten); echo "$body"
grep -q '"success":true' <<<"$body" && grep -q '"productId":"prd_0001"' <<<"$body" && grep -q '"inStock":' <<<"$body" || {
  cat run.log; fail "the hand-written operation did not answer {productId, inStock} in the envelope"; }
stop
echo "walkthrough-check: ok in $((SECONDS - start))s (bound and hand-written operations: generate, build, test, check, run)"
