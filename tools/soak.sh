#!/usr/bin/env bash
# Soak: a release `tokenwire serve --config` relaying the fake provider
# (tools/fake_provider), loaded for a long time by `tokenwire-bench soak`: 1,000 paced
# streams by default, with client cancels, client connection resets and provider faults
# (connection reset, connection drop, HTTP 503) mixed in. Every 10 s it prints the calls
# so far and the server's RSS, open fds and threads (/proc/PID); at the end a summary.
# Passes (exit 0) when every call ended the way its fault implies and the server's RSS
# after the warm-up (the first 10% of the run) stays within 10% of its value then; exit 1
# otherwise, 2 when the run could not be made. Not part of CI (an hour by default).
#
# usage: tools/soak.sh [--minutes N] [--streams N] [--port P] [--out DIR] [--skip-build]
#                      [-- extra tokenwire-bench soak options, e.g. --rate 5 --reset-seconds 30]
# Environment: SCRATCH = SwiftPM --scratch-path (default .build).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="${SCRATCH:-$repo_root/.build}"
MINUTES=60
STREAMS=1000
PORT=50090
OUT=/tmp/tokenwire-soak-$(date +%Y%m%d-%H%M%S)
SKIP_BUILD=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT"
log() { echo "$(date +%H:%M:%S) soak: $*" >&2; }

if [ "$SKIP_BUILD" = 0 ]; then
  log "building tokenwire and tokenwire-bench (release, scratch $scratch)"
  (cd "$repo_root" && swift build -c release --product tokenwire --scratch-path "$scratch" >&2)
  (cd "$repo_root" && swift build -c release --product tokenwire-bench --scratch-path "$scratch" >&2)
fi
TOKENWIRE="$scratch/release/tokenwire"
BENCH="$scratch/release/tokenwire-bench"

STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# The fake provider: 1,000 upstream connections need the fd limit raised.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
python3 "$repo_root/tools/fake_provider/fake_provider.py" --port 0 > "$OUT/fake_provider.log" 2>&1 &
fake_pid=$!; STARTED+=("$fake_pid")
fake_port=""
for _ in $(seq 1 300); do
  fake_port=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$OUT/fake_provider.log" | head -1)
  [ -n "$fake_port" ] && break
  kill -0 "$fake_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$fake_port" ] || { log "the fake provider did not start: $(cat "$OUT/fake_provider.log")"; exit 2; }
log "fake provider pid $fake_pid on 127.0.0.1:$fake_port"

# One openai-chat provider on the fake provider; faults and pacing come per call as x-fake-*
# metadata. No retries, so a fault's status reaches the client as it is.
cat > "$OUT/providers.json" <<JSON
{
  "providers": [
    { "name": "fake", "dialect": "openai-chat", "base_url": "http://127.0.0.1:$fake_port/v1",
      "models": ["m"], "forward_metadata": ["x-fake-*"], "max_attempts": 1 }
  ]
}
JSON
(echo > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { log "port $PORT is busy; use --port"; exit 2; }
"$TOKENWIRE" serve --port "$PORT" --config "$OUT/providers.json" --log-level warning > "$OUT/tokenwire.log" 2>&1 &
serve_pid=$!; STARTED+=("$serve_pid")
for _ in $(seq 1 100); do "$TOKENWIRE" health --port "$PORT" > /dev/null 2>&1 && break; sleep 0.1; done
"$TOKENWIRE" health --port "$PORT" > /dev/null 2>&1 || { log "tokenwire serve did not come up; see $OUT/tokenwire.log"; exit 2; }
log "tokenwire serve pid $serve_pid on 127.0.0.1:$PORT; $STREAMS streams for $MINUTES minutes; output in $OUT"

status=0
"$BENCH" soak --target "127.0.0.1:$PORT" --model fake/m --fake-provider "http://127.0.0.1:$fake_port" \
  --server-pid "$serve_pid" --fake-provider-pid "$fake_pid" --streams "$STREAMS" --minutes "$MINUTES" "${EXTRA[@]}" \
  | tee "$OUT/soak.log" || status=$?
if ! kill -0 "$serve_pid" 2>/dev/null; then
  log "tokenwire serve (pid $serve_pid) is gone; see $OUT/tokenwire.log"
  status=1
elif [ "$status" != 2 ]; then
  # The server keeps idle upstream connections for 60 s (AsyncHTTPClient's pool); once
  # they are gone, what is left open is the server's own.
  sleep 70
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$serve_pid/status")
  fds=$(ls "/proc/$serve_pid/fd" | wc -l)
  echo "soak: server idle 70 s after the load: rss $((rss / 1024)) MiB, fds $fds, threads $threads" | tee -a "$OUT/soak.log"
fi
log "server log: $(wc -l < "$OUT/tokenwire.log") lines in $OUT/tokenwire.log"
exit "$status"
