#!/usr/bin/env bash
# Server CPU per relayed call, for A/B comparisons of tokenwire builds in one invocation.
#
# Starts the relay harness's fake OpenAI provider (../shared/peers/relay/upstream.py, at
# interval 0) on CPU 1, then for each binary in turn (give several, and repeat them, to
# interleave: old new old new): `BINARY serve --config` (provider "local", dialect
# openai-chat) pinned to CPU 0, a warm-up, then `tokenwire-bench relay-load` on CPU 1 making
# calls of --tokens tokens (--interval ms apart, as the provider sends them), --streams at a
# time, for --secs seconds. Prints the calls made,
# the server's CPU time (user + system, /proc/PID/stat) per call and relay-load's TTFT
# p50/p90/p99. With --tokens 1 (the default) this is what a relayed call costs around its
# first token: the request, the upstream exchange, the stream's start and end.
#
# usage: tools/bench-relay-call-cost.sh [--tokens N] [--interval MS] [--streams C] [--secs S] BINARY...
#   defaults: 1 token, 0 ms, 4 streams, 8 s; tokenwire-bench from .build/release (TOKENWIRE_BENCH)
#   (--tokens 200 --interval 20 --streams 100 is the relay harness's shape s3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script=bench-relay-call-cost
source "$repo_root/tools/relay-upstream.sh"
up_port=18090
port=50079
tokens=1
interval=0
streams=4
secs=8
while [ $# -gt 0 ]; do
  case "$1" in
    --tokens) tokens="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --secs) secs="$2"; shift 2 ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    -*) echo "bench-relay-call-cost: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "bench-relay-call-cost: give at least one tokenwire binary (see --help)" >&2; exit 2; }
relay_harness_ready

pin_server=(); pin_load=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server=(taskset -c 0); pin_load=(taskset -c 1); fi
hz="$(getconf CLK_TCK)"
work="$(mktemp -d)"
up_pid=""; server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null; rm -rf "$work"; true' EXIT

cat > "$work/providers.json" <<EOF
{ "providers": [ { "name": "local", "dialect": "openai-chat", "base_url": "http://127.0.0.1:$up_port/v1", "models": ["gpt-fake"] } ] }
EOF
start_relay_upstream "$up_port" "$interval" "$work/upstream.log" "${pin_load[@]}"

for binary in "$@"; do
  "${pin_server[@]}" "$binary" serve --port "$port" --config "$work/providers.json" --log-level warning >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do "$binary" health --port "$port" >/dev/null 2>&1 && break; sleep 0.1; done
  "$binary" health --port "$port" >/dev/null || { echo "bench-relay-call-cost: $binary did not come up on port $port" >&2; exit 1; }
  load() {  # SECONDS
    "${pin_load[@]}" "$bench" relay-load --target "127.0.0.1:$port" --name cost --label "n$tokens" --model local/gpt-fake \
      -c "$streams" -n "$tokens" -d "$1" -r 0 --grace 5 --timeout 30 2>&1 | tail -1
  }
  load 2 >/dev/null
  before="$(awk '{print $14 + $15}' "/proc/$server_pid/stat")"
  output="$(load "$secs")"
  after="$(awk '{print $14 + $15}' "/proc/$server_pid/stat")"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  calls="$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$output")"
  errors="$(sed -n 's/.* err=\([0-9]*\).*/\1/p' <<<"$output")"
  ttft="$(sed -n 's/.*ttft_ms p50\/p90\/p99=\([^ ]*\).*/\1/p' <<<"$output")"
  [ "${calls:-0}" -gt 0 ] || { echo "bench-relay-call-cost: $binary: no call succeeded: $output" >&2; continue; }
  [ "${errors:-0}" = 0 ] || echo "bench-relay-call-cost: $binary: $errors calls failed" >&2
  awk -v b="$binary" -v n="$calls" -v t=$((after - before)) -v hz="$hz" -v ttft="$ttft" -v k="$tokens" \
    'BEGIN {printf "%s calls=%d cpu_us_per_call=%.1f cpu_us_per_token=%.2f ttft_ms_p50/p90/p99=%s\n", b, n, t / hz * 1e6 / n, t / hz * 1e6 / n / k, ttft}'
done
