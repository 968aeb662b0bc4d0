#!/usr/bin/env bash
# Relay overhead: Tokenwire next to direct / nginx / LiteLLM, on the shared relay harness.
#
# usage: tools/bench-relay.sh [--out DIR] [--relays direct,nginx,litellm] [--shapes s1,s2,s3,s4,s5]
#                             [--reps N] [--quick] [--port 50070] [--skip-peers] [--skip-tokenwire]
#                             [--synthetic] [--skip-build]
#
# 1. Runs ../shared/peers/relay/run.sh (beside the repo root; TOKENWIRE_RELAY_DIR overrides)
#    for --relays into --out: upstream.py (fake OpenAI SSE provider, every content delta
#    "t<monotonic_ns> "), each relay pinned to CPU $RELAY_CPU, client.py and upstream on
#    CPU $CLIENT_CPU/$UP_CPU.
# 2. Runs the same shapes against Tokenwire relaying the same upstream: upstream.py started
#    as run.sh starts it, `tokenwire serve --config` (provider "local", dialect openai-chat,
#    model local/gpt-fake) pinned to CPU $RELAY_CPU, and `tokenwire-bench relay-load` (the
#    gRPC twin of client.py) pinned to CPU $CLIENT_CPU with --watch relay=<serve pid>.
#    Results go to the same results.jsonl / upstream_stats.jsonl.
# 3. Prints report.py's table: all relays side by side, "added" = relay - direct.
#
# Needs `tokenwire serve --config FILE`; without it step 2 is skipped with a message.
# --synthetic checks step 2's plumbing without a provider config: Tokenwire serves its
# built-in models instead (synthetic/flood for the 0 ms shapes, synthetic/paced at 50 tok/s
# for the 20 ms ones), rows named tokenwire-synthetic. Those tokens carry no stamps, so
# the rows have TTFT and tokens/s but no per-token latency, and are NOT relay numbers.
# Environment (as run.sh): VENV (/tmp/relay-venv), UP_PORT 18080, RELAY_CPU 0, UP_CPU 1,
# CLIENT_CPU 1, GRACE 20, TIMEOUT 30; SCRATCH = SwiftPM --scratch-path (default .build);
# TOKENWIRE_CLIENT = relay-load's --client (default raw: frames timed once per socket read on
# the client's event loop, as client.py times them; tokenwire: the product's TokenwireClient,
# timed when the worker's task gets the frame, and twice raw's CPU on the load's CPU);
# TOKENWIRE_NAME = the name of Tokenwire's rows (default tokenwire); TOKENWIRE_FILTERS=1 adds
# output filters to the relayed model. With --skip-build and
# SCRATCH pointing at another checkout's build, two builds run side by side in one --out:
#   SCRATCH=/tmp/old/.build TOKENWIRE_NAME=tokenwire-old tools/bench-relay.sh --skip-build --skip-peers --out DIR
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
relay_dir="${TOKENWIRE_RELAY_DIR:-$repo_root/../shared/peers/relay}"
scratch="${SCRATCH:-$repo_root/.build}"
VENV=${VENV:-/tmp/relay-venv}
PY="$VENV/bin/python"
UP_PORT=${UP_PORT:-18080}
RELAY_CPU=${RELAY_CPU:-0}
UP_CPU=${UP_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-1}
GRACE=${GRACE:-20}
TIMEOUT=${TIMEOUT:-30}
export VENV UP_PORT RELAY_CPU UP_CPU CLIENT_CPU GRACE TIMEOUT

OUT=/tmp/relay-bench-$(date +%Y%m%d-%H%M%S)
RELAYS=direct,nginx,litellm
SHAPES=s1,s2,s3,s4,s5
REPS=1
QUICK=0
PORT=50070
SKIP_PEERS=0
SKIP_TOKENWIRE=0
SYNTHETIC=0
SKIP_BUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --relays) RELAYS=$2; shift 2 ;;
    --shapes) SHAPES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --port) PORT=$2; shift 2 ;;
    --skip-peers) SKIP_PEERS=1; shift ;;
    --skip-tokenwire) SKIP_TOKENWIRE=1; shift ;;
    --synthetic) SYNTHETIC=1; shift ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "bench-relay: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ ! -x "$relay_dir/run.sh" ] || [ ! -f "$relay_dir/upstream.py" ]; then
  echo "bench-relay: the shared relay harness is missing: expected $relay_dir/run.sh and upstream.py" >&2
  echo "bench-relay: it lives in ../shared/peers/relay beside the repo root; set TOKENWIRE_RELAY_DIR to use another copy" >&2
  exit 2
fi
mkdir -p "$OUT/tokenwire"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/tokenwire/bench-relay.log"
log() { echo "$(date +%H:%M:%S) bench-relay: $*" | tee -a "$LOG" >&2; }

# ---- build (one SwiftPM build at a time) -------------------------------------------------------
if [ "$SKIP_BUILD" = 0 ]; then
  log "building tokenwire and tokenwire-bench (release, scratch $scratch)"
  (cd "$repo_root" && swift build -c release --product tokenwire --scratch-path "$scratch" >&2)
  (cd "$repo_root" && swift build -c release --product tokenwire-bench --scratch-path "$scratch" >&2)
fi
TOKENWIRE="$scratch/release/tokenwire"
BENCH="$scratch/release/tokenwire-bench"

if [ "$SKIP_TOKENWIRE" = 0 ] && [ "$SYNTHETIC" = 0 ] && ! "$TOKENWIRE" serve --help 2>&1 | grep -q -- '--config'; then
  log "this build's 'tokenwire serve' has no --config option (provider config not merged yet):"
  log "the Tokenwire rows cannot be measured; running the peer relays only"
  SKIP_TOKENWIRE=1
fi

# ---- 1. the peer relays, by the harness itself -------------------------------------------------
if [ "$SKIP_PEERS" = 0 ]; then
  peer_args=(--out "$OUT" --relays "$RELAYS" --shapes "$SHAPES" --reps "$REPS")
  [ "$QUICK" = 1 ] && peer_args+=(--quick)
  log "running $relay_dir/run.sh ${peer_args[*]}"
  bash "$relay_dir/run.sh" "${peer_args[@]}" > "$OUT/tokenwire/run.sh.stdout" 2>&1 \
    || log "run.sh failed (rc=$?); see $OUT/run.log"
fi

# ---- 2. Tokenwire ------------------------------------------------------------------------------
[ -x "$PY" ] && "$PY" -c 'import uvloop' 2>/dev/null || VENV="$VENV" bash "$relay_dir/setup.sh" >&2
ulimit -n 65536 2>/dev/null || ulimit -n 16384

declare -a STARTED=()
stop_pid() {  # TERM, wait <= 10 s, then KILL; only PIDs this script started
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() { local p; for p in "${STARTED[@]}"; do stop_pid "$p"; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() {  # URL SECONDS PID
  local i
  for i in $(seq 1 $(($2 * 10))); do
    curl -sf -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
ustat() { curl -sf --max-time 2 "http://127.0.0.1:$UP_PORT/stats"; }
set_interval() { curl -sf --max-time 2 "http://127.0.0.1:$UP_PORT/control?interval_ms=$1" >/dev/null; }
wait_upstream_idle() {
  local i
  for i in $(seq 1 300); do
    [ "$(ustat | "$PY" -c 'import sys,json; print(json.load(sys.stdin)["active_streams"])')" = 0 ] && return 0
    sleep 0.1
  done
  log "warning: upstream still has active streams after 30 s"
}
shape_args() {  # concurrency interval_ms duration requests ramp: the same as run.sh
  local q=$QUICK
  case "$1" in
    s1) [ $q = 1 ] && echo "1 0 2 200 0"   || echo "1 0 10 3000 0" ;;
    s2) [ $q = 1 ] && echo "1 20 30 1 0"   || echo "1 20 60 5 0" ;;
    s3) [ $q = 1 ] && echo "100 20 3 0 1"  || echo "100 20 15 0 1" ;;
    s4) [ $q = 1 ] && echo "500 20 3 0 1"  || echo "500 20 15 0 1" ;;
    s5) [ $q = 1 ] && echo "32 0 2 0 0"    || echo "32 0 10 0 0" ;;
    *) echo "unknown shape $1" >&2; return 1 ;;
  esac
}

run_tokenwire() {
  local d="$OUT/tokenwire" up_pid tw_pid rep shape c iv dur req ramp before after name=${TOKENWIRE_NAME:-tokenwire}
  local serve_args=(--config "$d/providers.json")
  if [ "$SYNTHETIC" = 1 ]; then name=tokenwire-synthetic; serve_args=(--paced-rate 50); fi
  # TOKENWIRE_FILTERS=1: the relayed model gets a deny filter and a redact filter that never
  # match (the cost of output filters: docs/BENCHMARKS.md).
  local filters=""
  if [ "${TOKENWIRE_FILTERS:-0}" = 1 ]; then
    filters=',
  "filters": {
    "no-codenames": { "deny": ["(?i)project\\s+nightingale"], "window_chars": 64 },
    "pii": { "redact": ["\\b\\d{3}-\\d{2}-\\d{4}\\b"], "replacement": "[redacted]", "window_chars": 32 }
  },
  "model_filters": { "local/*": ["no-codenames", "pii"] }'
  fi
  cat > "$d/providers.json" <<JSON
{
  "providers": [
    { "name": "local", "dialect": "openai-chat", "base_url": "http://127.0.0.1:$UP_PORT/v1",
      "models": ["gpt-fake"] }
  ]$filters
}
JSON
  (echo > "/dev/tcp/127.0.0.1/$UP_PORT") 2>/dev/null && { log "port $UP_PORT is busy"; return 1; }
  (echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { log "port $PORT is busy; use --port"; return 1; }
  taskset -c "$UP_CPU" "$PY" "$relay_dir/upstream.py" --port "$UP_PORT" > "$d/upstream.log" 2>&1 &
  up_pid=$!; STARTED+=("$up_pid")
  wait_http "http://127.0.0.1:$UP_PORT/health" 20 "$up_pid" || { log "upstream did not start"; return 1; }
  log "upstream pid=$up_pid on CPU $UP_CPU"
  for rep in $(seq 1 "$REPS"); do
    taskset -c "$RELAY_CPU" "$TOKENWIRE" serve --port "$PORT" "${serve_args[@]}" --log-level warning \
      >> "$d/tokenwire.log" 2>&1 &
    tw_pid=$!; STARTED+=("$tw_pid")
    local i; for i in $(seq 1 100); do "$TOKENWIRE" health --port "$PORT" >/dev/null 2>&1 && break; sleep 0.1; done
    "$TOKENWIRE" health --port "$PORT" >/dev/null 2>&1 || { log "tokenwire serve did not come up; see $d/tokenwire.log"; return 1; }
    log "rep $rep: $name pid=$tw_pid on CPU $RELAY_CPU, grpc://127.0.0.1:$PORT"
    load() {  # LABEL C DURATION REQUESTS RAMP INTERVAL_MS [extra]
      local label=$1 lc=$2 ld=$3 lr=$4 lramp=$5 model=local/gpt-fake; shift 5
      if [ "$SYNTHETIC" = 1 ]; then model=synthetic/paced; [ "$1" = 0 ] && model=synthetic/flood; fi
      shift
      taskset -c "$CLIENT_CPU" "$BENCH" relay-load --client "${TOKENWIRE_CLIENT:-raw}" --target "127.0.0.1:$PORT" --name "$name" --label "$label" \
        --model "$model" -c "$lc" -n 200 -d "$ld" -r "$lr" --ramp "$lramp" --grace "$GRACE" --timeout "$TIMEOUT" \
        --watch "relay=$tw_pid" --watch "upstream=$up_pid" "$@"
    }
    set_interval 0
    load warmup 4 3 40 0 0 >> "$LOG" 2>&1 || true   # discarded, as run.sh's warm-up
    wait_upstream_idle
    for shape in ${SHAPES//,/ }; do
      read -r c iv dur req ramp < <(shape_args "$shape")
      if ! kill -0 "$tw_pid" 2>/dev/null; then log "tokenwire (pid $tw_pid) is gone; skipping $shape"; continue; fi
      set_interval "$iv"
      before=$(ustat)
      log "rep $rep relay $name shape $shape: C=$c interval=${iv}ms N=200 duration=${dur}s requests<=${req}"
      load "$shape" "$c" "$dur" "$req" "$ramp" "$iv" --json-out "$OUT/results.jsonl" 2>> "$d/relay-load.stderr" | tee -a "$LOG" \
        || log "relay-load failed (rc=$?)"
      wait_upstream_idle
      after=$(ustat)
      printf '{"rep":%s,"name":"%s","label":"%s","before":%s,"after":%s}\n' "$rep" "$name" "$shape" "$before" "$after" \
        >> "$OUT/upstream_stats.jsonl"
      sleep 1
    done
    stop_pid "$tw_pid"
    log "load after $name: $(cut -d' ' -f1-3 /proc/loadavg)"
  done
  stop_pid "$up_pid"
}

if [ "$SKIP_TOKENWIRE" = 0 ]; then
  run_tokenwire || log "the Tokenwire run failed; see $LOG"
fi

# ---- 3. one table ------------------------------------------------------------------------------
if [ -s "$OUT/results.jsonl" ]; then
  "$PY" "$relay_dir/report.py" "$OUT" > "$OUT/table.md"
  cat "$OUT/table.md"
  log "done: $OUT/table.md"
else
  log "no results in $OUT/results.jsonl"
  exit 1
fi
