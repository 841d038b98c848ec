#!/usr/bin/env bash
# make bench (load half): the gateway with every feature on against a bare
# httputil.ReverseProxy, both in front of the same minimal origin (cmd/benchorigin), on
# loopback. The proxy under test is pinned to CPU 0, the origin and the load generator to
# CPU 1. For GET /v1/products/prd_0001 (vs GET /products/prd_0001 through the bare proxy),
# POST /v1/orders and POST /v1/me/feedback (both vs POST /orders) it reports the proxy's CPU time per request (from
# /proc/<pid>/stat), requests/s at saturation (32 keep-alive connections), p50 and p99, p99
# in an open loop at half of the bare proxy's saturation rate, and RSS under load; then the
# gateway/bare ratios, one line per case of issue 14 (`  gateway  <case>  CPU/req <r>x, ...`:
# get = the bound GET getProduct with the cache off, get-cached = the same with the cache on,
# post-bound = createFeedback (a keyed POST bound with x-upstream, one upstream call),
# post-create = createOrder (hand-written glue, two upstream calls); each against the bare
# proxy's GET or POST of the same run; CPU/req@half-sat is the same ratio measured during the
# open-loop runs, where every proxy of a kind serves the same rate). The table goes to
# bench/load-<commit>.txt.
#
# The gateway runs twice, both with every feature on: "gateway" with the answer cache off
# (every GET reaches the origin, like the bare proxy) and "gw+cache" with it on (x-cache
# GETs answered from its store; only GET is measured on it).
#
# Bounded: the whole script runs under `timeout` (BENCH_LOAD_TIMEOUT, default 175 s) and
# stops everything it started on any exit. Only ratios measured in one run mean anything:
# absolute numbers depend on the machine and on whatever else runs on it.
#
# Knobs (environment): BENCH_LOAD_DURATION (measured seconds per closed-loop run, default
# 8), BENCH_LOAD_WARMUP (2), BENCH_LOAD_OPEN_DURATION (6), BENCH_LOAD_CONNS (32),
# BENCH_LOAD_TOOL (wrk or go; default wrk when installed), BENCH_LOAD_INSTALL_WRK (1: as
# root, apt-get install wrk when missing), BENCH_LOAD_TRACING (1: OpenTelemetry on with
# the parentbased_traceidratio sampler at 0 and an unused OTLP endpoint; 0: off), BENCH_LOAD_PROFILE (1: take a
# pprof CPU profile of the gateway during each measured run, and allocs before and after,
# through the admin listener, into BENCH_LOAD_PROFILE_DIR (default bin/pprof, ignored by
# git) as load-<commit>-gateway-<kind>.{cpu,allocs-before,allocs-after}.pprof; read with
# `go tool pprof -top FILE`, allocs with `-sample_index=alloc_space -base BEFORE AFTER`),
# BENCH_LOAD_KEEP (1: keep the work directory with the logs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${BENCH_LOAD_BOUNDED:-}" ]]; then
	export BENCH_LOAD_BOUNDED=1
	# --foreground: Ctrl-C reaches the whole job; on time-out the script's trap stops what it
	# started (every long step runs in the background and is waited for, so the trap runs at
	# once).
	exec timeout --foreground -k 10 "${BENCH_LOAD_TIMEOUT:-175}" "$0" "$@"
fi

DURATION=${BENCH_LOAD_DURATION:-8}
WARMUP=${BENCH_LOAD_WARMUP:-2}
OPEN_DURATION=${BENCH_LOAD_OPEN_DURATION:-6}
CONNS=${BENCH_LOAD_CONNS:-32}
TRACING=${BENCH_LOAD_TRACING:-1}
started_at=$(date +%s)

log() { printf 'bench-load: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-load.XXXXXX")
pids=()
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ "${BENCH_LOAD_KEEP:-0}" == 1 ]]; then
		log "work directory kept: $work"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'log "timed out or terminated"; exit 143' TERM

# run_bg CMD...: runs a bounded step in the background and waits for it, so that a signal
# reaches the trap without waiting for the step to end.
run_bg() {
	"$@" &
	local pid=$!
	pids+=("$pid")
	wait "$pid"
}

rev=$(git rev-parse --short HEAD 2>/dev/null || echo worktree)
dirty=""
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null || true)" ]]; then
	dirty=" (worktree has uncommitted changes)"
fi
mkdir -p bench
out="bench/load-${rev}.txt"

# --- CPUs -------------------------------------------------------------------------------
if [[ $(nproc --all) -ge 2 ]] && command -v taskset >/dev/null; then
	PIN_PROXY=(taskset -c 0)
	PIN_LOAD=(taskset -c 1)
	pinning="proxy under test on CPU 0; origin and load generator on CPU 1"
else
	PIN_PROXY=()
	PIN_LOAD=()
	pinning="NOT pinned (fewer than 2 CPUs or no taskset): numbers mix proxy, origin and load generator"
	log "warning: $pinning"
fi
CLK_TCK=$(getconf CLK_TCK)

# --- load generator -------------------------------------------------------------------------
tool=${BENCH_LOAD_TOOL:-}
if [[ -z "$tool" ]]; then
	if ! command -v wrk >/dev/null && [[ "${BENCH_LOAD_INSTALL_WRK:-1}" == 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		log "installing wrk (apt-get install -y wrk)"
		timeout 60 apt-get install -y -qq wrk >"$work/apt.log" 2>&1 ||
			{ timeout 60 apt-get update -qq >>"$work/apt.log" 2>&1 && timeout 60 apt-get install -y -qq wrk >>"$work/apt.log" 2>&1; } ||
			log "could not install wrk; using cmd/benchload"
	fi
	if command -v wrk >/dev/null; then tool=wrk; else tool=go; fi
fi

# --- build ----------------------------------------------------------------------------------
log "building contractgate, benchorigin, bareproxy, benchload"
bin="$work/bin"
run_bg go build -o "$bin/" ./cmd/contractgate ./cmd/benchorigin ./cmd/bareproxy ./cmd/benchload

# --- ports ------------------------------------------------------------------------------------
# Ports below the kernel's ephemeral range (outgoing connections never take them), and not
# used by any socket at all.
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
port_free() {
	if command -v ss >/dev/null; then
		[[ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]
	else
		! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
pick_port() {
	local p lo=12000 hi=$((ephemeral_low - 1))
	((hi > lo + 1000)) || { lo=20000 hi=29999; }
	for _ in $(seq 1 50); do
		p=$((lo + RANDOM % (hi - lo)))
		if [[ " ${used_ports[*]:-} " != *" $p "* ]] && port_free "$p"; then
			echo "$p"
			return
		fi
	done
	die "no free loopback port found"
}
used_ports=()
ORIGIN_PORT=$(pick_port)
used_ports+=("$ORIGIN_PORT")
BARE_PORT=$(pick_port)
used_ports+=("$BARE_PORT")
GW_PORT=$(pick_port)
used_ports+=("$GW_PORT")
GWC_PORT=$(pick_port)
used_ports+=("$GWC_PORT")
ADMIN_PORT=$(pick_port)
used_ports+=("$ADMIN_PORT")
OTLP_PORT=$(pick_port) # nothing listens there: with sampling off nothing is ever sent
ORIGIN="http://127.0.0.1:$ORIGIN_PORT"
BARE="http://127.0.0.1:$BARE_PORT"
GW="http://127.0.0.1:$GW_PORT"
GWC="http://127.0.0.1:$GWC_PORT"

# --- the gateway's configuration: every feature on --------------------------------------
# Optional blocks are used only when this commit's configuration knows their keys (probed
# with `contractgate token --config`, which loads and validates the file).
RESILIENCE_KEYS='
    retry: {maxAttempts: 2}
    circuitBreaker: {failureThreshold: 1000, failureRate: 0.9}
    bulkhead: {maxConcurrent: 256}'
write_config() { # $1 file, $2 port, $3 upstream extras, $4 top-level extras
	cat >"$1" <<-EOF
		# Written by scripts/bench-load.sh: the gateway with every feature on, in front of
		# cmd/benchorigin.
		env: development
		server:
		  addr: 127.0.0.1:$2
		log:
		  level: info
		  format: json
		upstreams:
		  catalog:
		    baseURL: $ORIGIN
		    timeout: 2s$3
		  orders:
		    baseURL: $ORIGIN
		    timeout: 3s$3
		  users:
		    baseURL: $ORIGIN
		    timeout: 2s$3
		auth:
		  jwt:
		    hmacKeys:
		      - kid: dev
		        secret: contractgate-dev-hmac-secret-NOT-FOR-PRODUCTION-0001
		    issuer: contractgate-dev
		    audience: storefront
		    algorithms: [HS256]
		  devToken:
		    enabled: true
		    ttl: 1h
		rateLimit:
		  # Limits on, never rejecting: the most the limiter accepts (one per microsecond).
		  default:
		    requests: 60000000
		    window: 1m
		idempotency:
		  lease: 30s
		  ttl: 24h
		  maxEntries: 100000
	EOF
	printf '%s\n' "$4" >>"$1"
}
config_ok() { "$bin/contractgate" token --config "$1" >/dev/null 2>>"$work/config-probe.log"; }
write_config "$work/probe.yaml" "$GW_PORT" "" ""
config_ok "$work/probe.yaml" || die "the generated gateway config is invalid: $(cat "$work/config-probe.log")"
up_extra="" resilience="defaults of internal/engine/resilience (this commit's config has no resilience keys)"
write_config "$work/probe.yaml" "$GW_PORT" "$RESILIENCE_KEYS" ""
if config_ok "$work/probe.yaml"; then
	up_extra=$RESILIENCE_KEYS resilience="retry maxAttempts 2, circuit breaker, bulkhead 256"
fi
have_cache=0
write_config "$work/probe.yaml" "$GW_PORT" "" "cache: {disabled: true}"
if config_ok "$work/probe.yaml"; then have_cache=1; fi
profile=0
profile_dir=${BENCH_LOAD_PROFILE_DIR:-bin/pprof}
if [[ "${BENCH_LOAD_PROFILE:-0}" == 1 ]]; then
	mkdir -p "$profile_dir"
	write_config "$work/probe.yaml" "$GW_PORT" "" "admin: {addr: '127.0.0.1:$ADMIN_PORT', pprof: true}"
	if config_ok "$work/probe.yaml"; then profile=1; else log "BENCH_LOAD_PROFILE: this commit has no admin.pprof; not profiling"; fi
fi
# The main gateway: every feature on except the answer cache, so that every GET reaches the
# origin as it does through the bare proxy. The second one (only GET is measured on it) has
# the cache on as configured by default: x-cache GETs are answered from its store.
gw_extra=""
[[ "$have_cache" == 1 ]] && gw_extra="cache: {disabled: true}"
[[ "$profile" == 1 ]] && gw_extra+=$'\n'"admin: {addr: '127.0.0.1:$ADMIN_PORT', pprof: true}"
cfg="$work/gateway.yaml"
write_config "$cfg" "$GW_PORT" "$up_extra" "$gw_extra"
config_ok "$cfg" || die "the generated gateway config is invalid: $(cat "$work/config-probe.log")"
cfgc="$work/gateway-cached.yaml"
write_config "$cfgc" "$GWC_PORT" "$up_extra" ""
TOKEN=$("$bin/contractgate" token --config "$cfg" --subject alice --scopes "orders:read orders:write" --ttl 1h)

# --- start the processes ---------------------------------------------------------------
"${PIN_LOAD[@]}" "$bin/benchorigin" -addr "127.0.0.1:$ORIGIN_PORT" >"$work/origin.log" 2>&1 &
ORIGIN_PID=$!
pids+=("$ORIGIN_PID")
"${PIN_PROXY[@]}" "$bin/bareproxy" -addr "127.0.0.1:$BARE_PORT" -upstream "$ORIGIN" >"$work/bareproxy.log" 2>&1 &
BARE_PID=$!
pids+=("$BARE_PID")
gw_env=()
if [[ "$TRACING" == 1 ]]; then
	# A production sampler (parent-based, a ratio for new traces) at ratio 0: the tracer
	# provider and its exporter are built, and every request runs the sampler's decision;
	# none is sampled (the load generator sends no traceparent), so nothing is exported.
	gw_env=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0 OTEL_SERVICE_NAME=contractgate-bench)
	tracing="on: OTLP/HTTP exporter to an unused loopback port, OTEL_TRACES_SAMPLER=parentbased_traceidratio at 0 (each request sampled or not by the provider's sampler; none sampled, nothing exported)"
else
	tracing="off"
fi
# The access log (stdout, JSON) goes to a file, as a log shipper would read it.
env "${gw_env[@]}" "${PIN_PROXY[@]}" "$bin/contractgate" serve --config "$cfg" >"$work/gateway.log" 2>"$work/gateway.err" &
GW_PID=$!
pids+=("$GW_PID")
GWC_PID=""
if [[ "$have_cache" == 1 ]]; then
	env "${gw_env[@]}" "${PIN_PROXY[@]}" "$bin/contractgate" serve --config "$cfgc" >"$work/gateway-cached.log" 2>"$work/gateway-cached.err" &
	GWC_PID=$!
	pids+=("$GWC_PID")
fi

wait_up() { # $1 URL, $2 name, $3 pid
	for _ in $(seq 1 100); do
		kill -0 "$3" 2>/dev/null || die "$2 exited; see its log (BENCH_LOAD_KEEP=1 keeps $work)"
		if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return; fi
		sleep 0.2
	done
	die "$2 did not come up at $1"
}
wait_up "$ORIGIN/products/prd_0001" origin "$ORIGIN_PID"
wait_up "$BARE/products/prd_0001" "bare proxy" "$BARE_PID"
wait_up "$GW/readyz" gateway "$GW_PID"
[[ -z "$GWC_PID" ]] || wait_up "$GWC/readyz" "gateway (cache on)" "$GWC_PID"

# --- requests ---------------------------------------------------------------------------
GW_ORDER='{"items":[{"productId":"prd_0001","quantity":1}],"currency":"USD","note":null,"payment":{"method":"card","cardToken":"tok_visa_4242"}}'
ORIGIN_ORDER='{"userId":"alice","lines":[{"productId":"prd_0001","name":"Enamel camping mug, edition 1","quantity":1,"unitPriceCents":1599}],"currency":"USD","note":null,"paymentMethod":"card"}'
printf '%s' "$GW_ORDER" >"$work/gateway-order.json"
printf '%s' "$ORIGIN_ORDER" >"$work/origin-order.json"
GW_FEEDBACK='{"rating":5,"comment":"Quick delivery, lovely mug."}'
printf '%s' "$GW_FEEDBACK" >"$work/gateway-feedback.json"
cat >"$work/post.lua" <<'EOF'
-- POST with the body from BENCH_BODY_FILE and a unique Idempotency-Key per request.
wrk.method = "POST"
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local prefix, n = "k", 0
function init(args)
  prefix = (args[1] or "k") .. "-" .. tostring(tid)
end
function request()
  n = n + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. n
  return wrk.format()
end
EOF

# smoke: each request answers as expected once before any load.
smoke() { # $1 want, rest: curl args
	local want=$1 got
	shift
	got=$(curl -sS -o "$work/smoke.body" -w '%{http_code}' --max-time 5 "$@") || true
	[[ "$got" == "$want" ]] || die "smoke test: got $got, want $want for $*: $(head -c 400 "$work/smoke.body")"
}
AUTH="Authorization: Bearer $TOKEN"
smoke 200 "$GW/v1/products/prd_0001"
smoke 200 "$BARE/products/prd_0001"
[[ -z "$GWC_PID" ]] || smoke 200 "$GWC/v1/products/prd_0001"
smoke 201 -X POST -H "$AUTH" -H "Content-Type: application/json" -H "Idempotency-Key: smoke-$started_at" --data-binary "@$work/gateway-order.json" "$GW/v1/orders"
smoke 201 -X POST -H "$AUTH" -H "Content-Type: application/json" -H "Idempotency-Key: smoke-$started_at" --data-binary "@$work/gateway-feedback.json" "$GW/v1/me/feedback"
smoke 201 -X POST -H "$AUTH" -H "Content-Type: application/json" -H "Idempotency-Key: smoke-$started_at" --data-binary "@$work/origin-order.json" "$BARE/orders"
gw_product_bytes=$(curl -s --max-time 5 "$GW/v1/products/prd_0001" | wc -c)
origin_product_bytes=$(curl -s --max-time 5 "$ORIGIN/products/prd_0001" | wc -c)

# --- measuring --------------------------------------------------------------------------
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# load_closed NAME KIND URL SECONDS: one closed-loop run; leaves NAME.out.
load_closed() {
	local name=$1 kind=$2 url=$3 secs=$4
	if [[ "$tool" == wrk ]]; then
		if [[ "$kind" == post* ]]; then
			export BENCH_BODY_FILE=$body_file
			run_bg "${PIN_LOAD[@]}" wrk -t1 -c"$CONNS" -d"${secs}s" --latency --timeout 5s \
				-H "$AUTH" -s "$work/post.lua" "$url" -- "run$started_at-$name" >"$work/$name.out" 2>&1 ||
				die "wrk failed: $(cat "$work/$name.out")"
		else
			run_bg "${PIN_LOAD[@]}" wrk -t1 -c"$CONNS" -d"${secs}s" --latency --timeout 5s "$url" >"$work/$name.out" 2>&1 ||
				die "wrk failed: $(cat "$work/$name.out")"
		fi
	else
		local args=(-url "$url" -c "$CONNS" -d "${secs}s" -warmup 0s)
		if [[ "$kind" == post* ]]; then
			args+=(-method POST -body-file "$body_file" -H "Content-Type: application/json" -H "$AUTH"
				-idempotency-key -idempotency-prefix "run$started_at-$name" -expect 201)
		fi
		run_bg "${PIN_LOAD[@]}" "$bin/benchload" "${args[@]}" >"$work/$name.out" 2>&1 ||
			die "benchload failed: $(cat "$work/$name.out")"
	fi
}

# parse NAME: sets requests, rps, p50_us, p99_us, bad from NAME.out.
parse() {
	local f="$work/$1.out"
	if [[ "$tool" == wrk ]]; then
		requests=$(awk '/requests in/ {print $1; exit}' "$f")
		rps=$(awk '/^Requests\/sec:/ {print $2; exit}' "$f")
		local conv='function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return (v + 0) * 1000; if (v ~ /m$/) return (v + 0) * 6e7; return (v + 0) * 1e6 }'
		p50_us=$(awk "$conv"' /Latency Distribution/ {d = 1} d && $1 == "50%" {print us($2); exit}' "$f")
		p99_us=$(awk "$conv"' /Latency Distribution/ {d = 1} d && $1 == "99%" {print us($2); exit}' "$f")
		bad=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$f")
	else
		local line
		line=$(grep '^benchload:' "$f" | tail -1)
		kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
		requests=$(kv requests)
		rps=$(kv rps)
		p50_us=$(kv p50_us)
		p99_us=$(kv p99_us)
		bad=$(($(kv errors) + $(kv unexpected)))
	fi
	[[ -n "$requests" && -n "$rps" && -n "$p50_us" && -n "$p99_us" ]] || die "could not parse $f: $(cat "$f")"
}

declare -A R # results: R[proxy,kind,field]

# measure PROXY KIND URL PID
measure() {
	local proxy=$1 kind=$2 url=$3 pid=$4 name="$1-$2"
	body_file=$(body_of "$proxy" "$kind")
	log "$proxy $kind: warm-up ${WARMUP}s, then ${DURATION}s at $CONNS connections"
	load_closed "$name-warmup" "$kind" "$url" "$WARMUP"
	local t0 o0 t1 o1 rss prof=""
	if [[ "$profile" == 1 && "$proxy" == gateway ]]; then
		local base="$profile_dir/load-$rev-$proxy-$kind"
		curl -s --max-time 5 -o "$base.allocs-before.pprof" "http://127.0.0.1:$ADMIN_PORT/debug/pprof/allocs" || true
		curl -s --max-time $((DURATION + 10)) -o "$base.cpu.pprof" "http://127.0.0.1:$ADMIN_PORT/debug/pprof/profile?seconds=$((DURATION - 1))" &
		prof=$!
		pids+=("$prof")
	fi
	t0=$(ticks "$pid")
	o0=$(ticks "$ORIGIN_PID")
	# RSS under load: sampled one second before the run ends.
	(sleep $((DURATION - 1)) && status_kb "$pid" VmRSS >"$work/$name.rss") &
	local sampler=$!
	pids+=("$sampler")
	load_closed "$name" "$kind" "$url" "$DURATION"
	wait "$sampler" 2>/dev/null || true
	t1=$(ticks "$pid")
	o1=$(ticks "$ORIGIN_PID")
	if [[ -n "$prof" ]]; then
		wait "$prof" 2>/dev/null || true
		curl -s --max-time 5 -o "$base.allocs-after.pprof" "http://127.0.0.1:$ADMIN_PORT/debug/pprof/allocs" || true
	fi
	parse "$name"
	rss=$(cat "$work/$name.rss" 2>/dev/null || echo 0)
	R[$proxy,$kind,requests]=$requests
	R[$proxy,$kind,rps]=$rps
	R[$proxy,$kind,p50]=$p50_us
	R[$proxy,$kind,p99]=$p99_us
	R[$proxy,$kind,bad]=$bad
	R[$proxy,$kind,cpu_us]=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
	R[$proxy,$kind,cpu_pct]=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v s="$DURATION" 'BEGIN {printf "%.0f", t * 100 / hz / s}')
	R[$proxy,$kind,origin_us]=$(awk -v t="$((o1 - o0))" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
	R[$proxy,$kind,rss]=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')
	[[ "$bad" == 0 ]] || log "warning: $proxy $kind: $bad non-2xx answers or socket errors"
}

# open_loop PROXY KIND URL RATE
open_loop() {
	local proxy=$1 kind=$2 url=$3 rate=$4 name="$1-$2-open"
	local args=(-url "$url" -c 64 -d "${OPEN_DURATION}s" -warmup 1s -rate "$rate")
	if [[ "$kind" == post* ]]; then
		local body
		body=$(body_of "$proxy" "$kind")
		args+=(-method POST -body-file "$body" -H "Content-Type: application/json" -H "$AUTH"
			-idempotency-key -idempotency-prefix "run$started_at-$name" -expect 201)
	fi
	log "$proxy $kind: open loop at $rate/s for ${OPEN_DURATION}s"
	local t0 t1
	t0=$(ticks "$(pid_of "$proxy")")
	run_bg "${PIN_LOAD[@]}" "$bin/benchload" "${args[@]}" >"$work/$name.out" 2>&1 || true
	t1=$(ticks "$(pid_of "$proxy")")
	local line
	line=$(grep '^benchload:' "$work/$name.out" | tail -1 || true)
	# CPU per request at this rate, the same for every proxy of the kind: the ticks cover the
	# 1s warm-up too, so the measured requests are scaled to the whole run.
	R[$proxy,$kind,open_cpu_us]=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v l=" $line" -v d="$OPEN_DURATION" \
		'BEGIN {match(l, / requests=[0-9]+/); n = substr(l, RSTART + 10, RLENGTH - 10) * (d + 1) / d; if (n > 0) printf "%.1f", t * 1e6 / hz / n}')
	R[$proxy,$kind,open_p99]=$(sed -n 's/.* p99_us=\([^ ]*\).*/\1/p' <<<" $line")
	R[$proxy,$kind,open_rps]=$(sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<" $line")
	R[$proxy,$kind,open_dropped]=$(sed -n 's/.* dropped=\([^ ]*\).*/\1/p' <<<" $line")
	R[$proxy,$kind,open_bad]=$(awk -v l=" $line" 'BEGIN {match(l, / errors=[0-9]+/); e = substr(l, RSTART + 8, RLENGTH - 8); match(l, / unexpected=[0-9]+/); u = substr(l, RSTART + 12, RLENGTH - 12); print e + u}')
}

# The rows: proxy, kind. gw+cache is the gateway with the answer cache on (GET only).
# post-bound (the gateway only) is a POST: its denominator is the bare proxy's post.
rows=("bare get" "gateway get")
[[ -n "$GWC_PID" ]] && rows+=("gw+cache get")
rows+=("bare post" "gateway post" "gateway post-bound")
url_of() { # PROXY KIND
	case "$1 $2" in
	"bare get") echo "$BARE/products/prd_0001" ;;
	"bare post") echo "$BARE/orders" ;;
	"gateway get") echo "$GW/v1/products/prd_0001" ;;
	"gateway post") echo "$GW/v1/orders" ;;
	"gateway post-bound") echo "$GW/v1/me/feedback" ;;
	"gw+cache get") echo "$GWC/v1/products/prd_0001" ;;
	esac
}
body_of() { # PROXY KIND: the POST body file
	case "$1 $2" in
	"gateway post-bound") echo "$work/gateway-feedback.json" ;;
	gateway*) echo "$work/gateway-order.json" ;;
	*) echo "$work/origin-order.json" ;;
	esac
}
base_kind() { echo "${1%%-*}"; } # get or post: the bare proxy's row of that kind
# case_of PROXY KIND: the case name of issue 14's summary lines.
case_of() {
	case "$1 $2" in
	"gateway get") echo get ;;
	"gw+cache get") echo get-cached ;;
	"gateway post-bound") echo post-bound ;;
	"gateway post") echo post-create ;;
	esac
}
pid_of() { case "$1" in bare) echo "$BARE_PID" ;; gateway) echo "$GW_PID" ;; gw+cache) echo "$GWC_PID" ;; esac; }

loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
for kind in get post; do
	for row in "${rows[@]}"; do
		read -r proxy k <<<"$row"
		[[ "$(base_kind "$k")" == "$kind" ]] || continue
		measure "$proxy" "$k" "$(url_of "$proxy" "$k")" "$(pid_of "$proxy")"
	done
	R[half,$kind]=$(awk -v r="${R[bare,$kind,rps]}" 'BEGIN {printf "%d", r / 2}')
	for row in "${rows[@]}"; do
		read -r proxy k <<<"$row"
		[[ "$(base_kind "$k")" == "$kind" ]] || continue
		open_loop "$proxy" "$k" "$(url_of "$proxy" "$k")" "${R[half,$kind]}"
	done
done
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
hwm() { awk -v k="$(status_kb "$1" VmHWM)" 'BEGIN {printf "%.1f", k / 1024}'; }
hwm_line="gateway $(hwm "$GW_PID") MiB, bare proxy $(hwm "$BARE_PID") MiB"
[[ -z "$GWC_PID" ]] || hwm_line+=", gateway with cache $(hwm "$GWC_PID") MiB"
metrics=$(curl -s --max-time 5 "$GW/metrics" | grep -E '^contractgate_(requests_total|errors_total|upstream_calls_total)' | grep -v 'operation="ops:' || true)
log_lines=$(wc -l <"$work/gateway.log")
log_bytes=$(wc -c <"$work/gateway.log")
gw_stderr=$(cat "$work"/gateway*.err | grep -v '^$' | head -5 || true)

# --- report -------------------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN {if (u == "") print "-"; else printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b + 0 == 0) print "-"; else printf "%.2fx", a / b}'; }
{
	echo "# make bench, load half (scripts/bench-load.sh): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit $rev$dirty; $(go version | cut -d' ' -f3-); $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc --all) CPUs"
	echo "pinning: $pinning; load average at start $loadavg_start, at end $loadavg_end"
	echo "load generator: $tool (closed loop: $CONNS keep-alive connections, ${WARMUP}s warm-up, ${DURATION}s measured);"
	echo "  p99@half-sat: cmd/benchload open loop (latency from release by the rate scheduler, queueing included) at half of the bare proxy's"
	echo "  saturation rps of that kind (GET ${R[half,get]}/s, POST ${R[half,post]}/s), ${OPEN_DURATION}s after 1s warm-up, up to 64 connections"
	echo "gateway: every feature on: contract validation, JWT auth (HS256 bearer), rate limit (60000000/min, never rejecting),"
	echo "  idempotency (unique Idempotency-Key per POST, in-memory store), upstream resilience ($resilience),"
	echo "  upstream response contract check (enforce), Prometheus metrics, JSON access log to a file, tracing $tracing."
	if [[ -n "$GWC_PID" ]]; then
		echo "  'gateway' has the answer cache off (every GET reaches the origin, as through the bare proxy);"
		echo "  'gw+cache' is the same with the cache on (x-cache: GET /v1/products/{id} answered from its store)."
	fi
	[[ "$profile" == 1 ]] && echo "  PROFILED: the 'gateway' rows ran with a pprof CPU profile ($profile_dir/load-$rev-gateway-*.pprof)."
	echo "bare proxy: httputil.ReverseProxy, no features, tuned transport (64 idle conns, no compression, pooled buffers)"
	echo "origin: cmd/benchorigin, precomputed bytes; product JSON $origin_product_bytes bytes at the origin, $gw_product_bytes bytes in the gateway's envelope"
	echo "NOTE: POST /v1/orders (post) makes TWO upstream calls (GET /products?ids=prd_0001 for prices, then POST /orders);"
	echo "  POST /v1/me/feedback (post-bound: createFeedback, bound with x-upstream to the users service's"
	echo "  POST /users/{id}/feedback) makes one; the bare proxy's POST /orders, the denominator of both, makes one."
	echo "  GET makes one upstream call on both (none on a gw+cache hit)."
	echo
	printf '%-8s | %-10s | %10s | %4s | %7s | %7s | %7s | %22s | %7s | %13s\n' proxy kind "CPU µs/req" "CPU%" rps "p50 ms" "p99 ms" "p99@half-sat ms" "RSS MiB" "origin µs/req"
	printf '%s\n' "---------+------------+------------+------+---------+---------+---------+------------------------+---------+--------------"
	for row in "${rows[@]}"; do
		read -r proxy kind <<<"$row"
		open="$(ms "${R[$proxy,$kind,open_p99]}")"
		if awk -v a="${R[$proxy,$kind,open_rps]:-0}" -v want="${R[half,$(base_kind "$kind")]}" 'BEGIN {exit !(a < 0.95 * want)}' ||
			[[ "${R[$proxy,$kind,open_dropped]:-0}" != 0 ]]; then
			open="$open (sat@${R[$proxy,$kind,open_rps]%.*}/s)"
		fi
		printf '%-8s | %-10s | %10s | %4s | %7.0f | %7s | %7s | %22s | %7s | %13s\n' "$proxy" "$kind" \
			"${R[$proxy,$kind,cpu_us]}" "${R[$proxy,$kind,cpu_pct]}" "${R[$proxy,$kind,rps]}" \
			"$(ms "${R[$proxy,$kind,p50]}")" "$(ms "${R[$proxy,$kind,p99]}")" "$open" \
			"${R[$proxy,$kind,rss]}" "${R[$proxy,$kind,origin_us]}"
	done
	echo
	echo "ratios to the bare proxy (issue 14's cases; the bare proxy's GET or POST, same run):"
	for c in get get-cached post-bound post-create; do
		for row in "${rows[@]}"; do
			read -r proxy kind <<<"$row"
			[[ "$(case_of "$proxy" "$kind")" == "$c" ]] || continue
			b=$(base_kind "$kind")
			printf '  gateway  %s  CPU/req %s, CPU/req@half-sat %s, rps %s, p50 %s, p99 %s, p99@half-sat %s, RSS %s\n' "$c" \
				"$(ratio "${R[$proxy,$kind,cpu_us]}" "${R[bare,$b,cpu_us]}")" \
				"$(ratio "${R[$proxy,$kind,open_cpu_us]}" "${R[bare,$b,open_cpu_us]}")" \
				"$(ratio "${R[$proxy,$kind,rps]}" "${R[bare,$b,rps]}")" \
				"$(ratio "${R[$proxy,$kind,p50]}" "${R[bare,$b,p50]}")" \
				"$(ratio "${R[$proxy,$kind,p99]}" "${R[bare,$b,p99]}")" \
				"$(ratio "${R[$proxy,$kind,open_p99]}" "${R[bare,$b,open_p99]}")" \
				"$(ratio "${R[$proxy,$kind,rss]}" "${R[bare,$b,rss]}")"
		done
	done
	echo
	echo "CPU µs/req: the proxy's utime+stime (/proc/<pid>/stat, CLK_TCK $CLK_TCK) over the measured run / requests answered."
	echo "  CPU%: the proxy's share of its core; well below 100 means something else limited the run (CPU 1 with the"
	echo "  origin and load generator, or other processes on CPU 0): then rps, p50 and p99 understate the proxy, and"
	echo "  CPU µs/req is the number to compare. origin µs/req: the origin's CPU per proxied request (two upstream calls"
	echo "  per gateway POST). RSS: VmRSS 1s before the end of the run; peak VmHWM: $hwm_line."
	echo "  '(sat@N/s)' after p99@half-sat: that proxy could not sustain the rate (achieved N/s, or requests left unsent)."
	echo "  CPU/req@half-sat: CPU per request during the open-loop run, every proxy of a kind at the same rate. A proxy's"
	echo "  CPU per request falls as its load rises (fewer idle wake-ups per request, more work per epoll and write), so"
	echo "  the closed-loop CPU/req compares each proxy at its own saturation rate, a slower proxy at a lower one; this"
	echo "  compares them at one rate (which, for the bare proxy, is further below its saturation)."
	printf 'non-2xx answers or socket errors (closed loop / open loop):'
	for row in "${rows[@]}"; do
		read -r proxy kind <<<"$row"
		printf ' %s %s %s/%s;' "$proxy" "$kind" "${R[$proxy,$kind,bad]}" "${R[$proxy,$kind,open_bad]:-?}"
	done
	echo
	echo "gateway access log: $log_lines lines, $log_bytes bytes"
	if [[ -n "$gw_stderr" ]]; then echo "gateway stderr (first lines): $gw_stderr"; fi
	echo
	echo "gateway /metrics after the runs (4xx: requests cut by the load generator at the end of a run, logged as 499):"
	sed 's/^/  /' <<<"$metrics"
} | tee "$out"
log "results in $out ($(($(date +%s) - started_at))s)"
