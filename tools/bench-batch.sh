#!/usr/bin/env bash
# Batch and backpressure benchmarks (docs/BENCHMARKS.md, "Batches" and "Slow consumers").
#
# 1. Batch throughput: `tokenwire batch` runs N items of synthetic/flood (T tokens each), and
#    256 items of synthetic/paced (10 tokens at 100/s: a stand-in for a model's latency), in
#    one GenerateBatch call at concurrency 1, 32 and 256 against `tokenwire serve`; prints
#    items/s and tokens/s per concurrency as a markdown table. The server is pinned to
#    CPU 1 and the client to CPU 0 when the machine has two CPUs.
#    And 500 items over the fake provider (tools/fake_provider: a real HTTP/1.1 upstream
#    streaming SSE, relayed through `tokenwire serve --config`).
# 2. Slow consumers: a fresh server; `tokenwire slow-consumers` opens S streams of
#    synthetic/flood (20,000 tokens each), reads each at 1 frame/s for X seconds while
#    sampling the server's RSS from /proc, then reads the rest at full speed and checks
#    every frame; prints its JSON summary (RSS per stream, recovery vs reference speed).
#    Twice: with the default outbound watermarks (64/16 KiB) and with 16/4 KiB.
#
# usage: tools/bench-batch.sh [--port 50095] [--items 2000] [--tokens 100]
#                             [--slow-streams 1000] [--slow-seconds 60] [--skip-build]
# env: TOKENWIRE_SCRATCH  SwiftPM scratch path (default .build)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port=50095 items=2000 fake_items=500 tokens=100 slow_streams=1000 slow_seconds=60 build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --items) items="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --slow-streams) slow_streams="$2"; shift 2 ;;
    --slow-seconds) slow_seconds="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    *) echo "bench-batch: unknown argument $1" >&2; exit 2 ;;
  esac
done
scratch="${TOKENWIRE_SCRATCH:-$repo_root/.build}"

if [ "$build" = 1 ]; then
  echo "bench-batch: building tokenwire (release)" >&2
  (cd "$repo_root" && swift build -c release --product tokenwire --scratch-path "$scratch" >&2)
fi
binary="$scratch/release/tokenwire"

server_pin=() client_pin=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then server_pin=(taskset -c 1); client_pin=(taskset -c 0); fi
work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

start_server() {
  "${server_pin[@]}" "$binary" serve --port "$port" --log-level warning "$@" &
  server_pid=$!
  for _ in $(seq 1 100); do
    "$binary" health --port "$port" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench-batch: tokenwire did not come up on port $port" >&2
  exit 1
}

# prompts MODEL N T: N items of MODEL with T tokens each, one JSON line per item.
prompts() {
  python3 -c 'import json, sys
model, n, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n): print(json.dumps({"model": model, "prompt": "item %d" % i, "max_tokens": t}))' "$1" "$2" "$3"
}

# run_batch FILE MODEL N CONCURRENCY: one markdown row.
run_batch() {
  "${client_pin[@]}" "$binary" batch "$1" --port "$port" --concurrency "$4" \
    --items-per-call "$3" > "$work/out.jsonl" 2> "$work/summary.txt"
  summary="$(tail -1 "$work/summary.txt")"
  lines="$(wc -l < "$work/out.jsonl")"
  [ "$lines" -eq "$3" ] || { echo "bench-batch: expected $3 result lines, got $lines: $summary" >&2; exit 1; }
  # "batch: N items (...) of N in 1.2s: 1234 items/s, 56789 tokens/s, ..."
  python3 -c 'import re, sys
m = re.search(r"in ([0-9.]+)s: ([0-9]+) items/s, ([0-9]+) tokens/s", sys.argv[1])
print("| %s | %s | %s | %s | %s | %s |" % (sys.argv[2], sys.argv[3], sys.argv[4], format(int(m.group(2)), ","), format(int(m.group(3)), ","), m.group(1)))' \
    "$summary" "$2" "$3" "$4"
}

# slow_consumers [serve options]: one slow-consumer run against a fresh server.
slow_consumers() {
  start_server --max-active-calls $((slow_streams + 16)) "$@"
  echo "server options: ${*:-(defaults: 64 KiB / 16 KiB outbound watermarks)}"
  "${client_pin[@]}" "$binary" slow-consumers --port "$port" --server-pid "$server_pid" \
    --streams "$slow_streams" --connections 8 --tokens 20000 --rate 1 --seconds "$slow_seconds"
  stop_server
}

echo "## Batch throughput: one GenerateBatch call per row"
echo
echo "| producer | items | concurrency | items/s | tokens/s | wall s |"
echo "|---|---|---|---|---|---|"
# synthetic/paced at 100 tokens/s stands in for a model: each item takes 0.1 s.
start_server --batch-max-concurrency 256 --paced-rate 100
prompts synthetic/flood "$items" "$tokens" > "$work/flood.jsonl"
prompts synthetic/paced 256 10 > "$work/paced.jsonl"
for concurrency in 1 32 256; do run_batch "$work/flood.jsonl" "synthetic/flood ($tokens tokens)" "$items" "$concurrency"; done
for concurrency in 1 32 256; do run_batch "$work/paced.jsonl" "synthetic/paced (10 tokens at 100/s)" 256 "$concurrency"; done
stop_server

# The fake provider (Python, HTTP/1.1 on loopback) as an openai-chat upstream: every item
# is a real HTTP request and an SSE stream parsed by the relay.
python3 "$repo_root/tools/fake_provider/fake_provider.py" --port 0 > "$work/fake.log" 2>&1 &
fake_pid=$!
trap 'stop_server; kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
fake_port=""
for _ in $(seq 1 200); do
  fake_port="$(sed -n 's/^listening .*:\([0-9][0-9]*\)$/\1/p' "$work/fake.log" | head -1)"
  [ -n "$fake_port" ] && break
  sleep 0.05
done
[ -n "$fake_port" ] || { echo "bench-batch: the fake provider did not start: $(cat "$work/fake.log")" >&2; exit 1; }
printf '{"providers": [{"name": "fake", "dialect": "openai-chat", "base_url": "http://127.0.0.1:%s/v1", "models": ["m"]}]}\n' \
  "$fake_port" > "$work/providers.json"
start_server --batch-max-concurrency 256 --config "$work/providers.json"
prompts fake/m "$fake_items" "$tokens" > "$work/fake.jsonl"
for concurrency in 1 32 256; do run_batch "$work/fake.jsonl" "fake provider ($tokens tokens, SSE)" "$fake_items" "$concurrency"; done
stop_server
kill "$fake_pid" 2>/dev/null || true

echo
echo "## Slow consumers: $slow_streams streams, 1 frame/s for $slow_seconds s, then full speed"
echo
slow_consumers
slow_consumers --outbound-high-watermark 16384 --outbound-low-watermark 4096
