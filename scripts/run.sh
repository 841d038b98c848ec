#!/usr/bin/env bash
# Starts the three demo upstreams and the gateway on loopback, prints how to call them, and
# stops everything it started on Ctrl-C (or when any of them exits).
set -euo pipefail
bin=${1:-bin}
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# The upstream registry: every api/upstreams/<name>.yaml. An upstream without a baseURL in the
# config answers from its contract's examples (development); MOCK=1 mocks every one of them.
addr=${CONTRACTGATE_SERVER_ADDR:-127.0.0.1:8080}
upstreams=()
for f in api/upstreams/*.yaml; do [[ -e "$f" ]] && upstreams+=("$(basename "$f" .yaml)"); done
if [[ "${MOCK:-}" == 1 ]]; then
  for u in "${upstreams[@]}"; do export "CONTRACTGATE_UPSTREAMS_${u^^}_MOCK=true"; done
  echo "MOCK=1: upstreams (${upstreams[*]}) answer from their contracts' examples; no demo services started"
else
  # The app's demo upstream services (cmd/demo-*), each on its own default loopback address.
  for d in "$bin"/demo-*; do [[ -x "$d" ]] && { "$d" & pids+=($!); }; done
fi
CONTRACTGATE_LOG_FORMAT=${CONTRACTGATE_LOG_FORMAT:-text} "$bin/contractgate" serve & pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS "http://$addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
echo
echo "  contractgate is running on http://$addr (upstreams: ${upstreams[*]:-none}). Ctrl-C stops everything."
echo "  The contract: http://$addr/openapi.yaml  docs: /docs  metrics: /metrics  health: /healthz, /readyz"
# The app's own hints (what to call, which demo credentials), if it has any.
[[ -f internal/app/run.txt ]] && sed 's/^/  /' internal/app/run.txt
echo
wait -n "${pids[@]}"
