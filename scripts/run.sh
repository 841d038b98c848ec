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

if [[ "${MOCK:-}" == 1 ]]; then
  # Mock mode: every upstream answers from the examples of its contract, in process.
  export CONTRACTGATE_UPSTREAMS_CATALOG_MOCK=true CONTRACTGATE_UPSTREAMS_ORDERS_MOCK=true CONTRACTGATE_UPSTREAMS_USERS_MOCK=true
  echo "MOCK=1: upstreams answer from their contracts' examples; no demo services started"
else
  "$bin/demo-catalog" -addr 127.0.0.1:9101 -admin-addr 127.0.0.1:9111 & pids+=($!)
  "$bin/demo-orders"  -addr 127.0.0.1:9102 -admin-addr 127.0.0.1:9112 & pids+=($!)
  "$bin/demo-users"   -addr 127.0.0.1:9103 -admin-addr 127.0.0.1:9113 & pids+=($!)
fi
CONTRACTGATE_LOG_FORMAT=${CONTRACTGATE_LOG_FORMAT:-text} "$bin/contractgate" serve & pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS http://127.0.0.1:8080/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
cat <<MSG

  contractgate is running on http://127.0.0.1:8080 (demo upstreams on :9101-9103, their
  fault-injection admin on :9111-9113). Ctrl-C stops everything.

  Public operations need no credentials:
    curl -s 'http://127.0.0.1:8080/v1/products?pageSize=3'
    curl -s  http://127.0.0.1:8080/v1/products/prd_0001

  Secured ones take the demo API key of alice (or bob: demo-key-bob-0123456789abcdef) ...
    curl -s  http://127.0.0.1:8080/v1/me/dashboard -H 'X-API-Key: demo-key-alice-0123456789abcdef'
  ... or a development JWT:
    TOKEN=\$(go run ./cmd/contractgate token --subject alice --scopes "orders:read orders:write")
    curl -s -X POST http://127.0.0.1:8080/v1/orders -H "Authorization: Bearer \$TOKEN" \\
         -H 'Content-Type: application/json' -H "Idempotency-Key: \$(date +%s%N)" \\
         -d '{"items":[{"productId":"prd_0001","quantity":2}],"payment":{"method":"card","cardToken":"tok_visa_4242"}}'

  The contract: http://127.0.0.1:8080/openapi.yaml  docs: /docs  metrics: /metrics  health: /healthz, /readyz
  (Demo credentials are development-only: env: production refuses them.)

MSG
wait -n "${pids[@]}"
