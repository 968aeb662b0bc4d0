#!/usr/bin/env bash
# Server CPU per call, for A/B comparisons of tokenwire builds in one invocation.
#
# For each binary in turn (give several, and repeat them, to interleave: old new old new),
# starts `BINARY serve` pinned to CPU 1, drives it with h2load pinned to CPU 0
# (`Generate` on synthetic/flood with the request body given, CONNS connections x STREAMS
# streams, N calls), and prints calls/s, the calls that succeeded, and the server's CPU
# time (user + system, from /proc/PID/stat) per call. CPU per call is steadier than
# calls/s on a shared machine, but on this VM it still varies by about 10% run to run:
# compare medians of several interleaved runs, never one pair.
#
# With --count-switches, also counts the Swift runtime's swift_task_switch calls and the
# jobs run on the loops' task executors (perf uprobes; needs root and perf), per call.
# With --count-mallocs, counts libc malloc calls per call (a perf uprobe): unlike CPU time,
# this count repeats to the decimal from run to run, so an A/B of allocations per call
# needs no medians on this VM.
#
# With --count-retains, counts the Swift runtime's swift_retain calls per call (a perf
# uprobe): as steady as the malloc count, for changes that should take fewer references.
#
# With --warmup W, first makes W calls the same way, unmeasured: a server that keeps
# finished streams for resumes (--resume-retention) is then measured in its steady state,
# its --resume-memory full and old streams dropped as new ones end, rather than while its
# heap grows.
#
# A binary given as BINARY@ARGS is served with ARGS added (commas for spaces), so one
# binary can be compared with itself under other flags: tokenwire tokenwire@--resume-buffer,0
#
# usage: tools/bench-call-cost.sh [--calls N] [--conns C] [--streams S] [--body FILE]
#                                 [--warmup W] [--count-switches] [--count-mallocs] [--count-retains]
#                                 BINARY[@ARGS]...
#   defaults: 100000 calls, 16 x 16, ../shared/peers/bodies/gen50.bin (shape c50), no warm-up
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
calls=100000
conns=16
streams=16
body="$repo_root/../shared/peers/bodies/gen50.bin"
count_switches=0
count_mallocs=0
count_retains=0
warmup=0
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls="$2"; shift 2 ;;
    --conns) conns="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --body) body="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --count-switches) count_switches=1; shift ;;
    --count-mallocs) count_mallocs=1; shift ;;
    --count-retains) count_retains=1; shift ;;
    -h|--help) sed -n 2,32p "$0"; exit 0 ;;
    -*) echo "bench-call-cost: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "bench-call-cost: give at least one tokenwire binary (see --help)" >&2; exit 2; }
[ -r "$body" ] || { echo "bench-call-cost: no request body at $body (the peer harness's bodies/; see --body)" >&2; exit 2; }
command -v h2load >/dev/null || { echo "bench-call-cost: h2load is missing: apt-get install nghttp2-client" >&2; exit 2; }

pin_server=(); pin_load=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_server=(taskset -c 1); pin_load=(taskset -c 0); fi

events=()
if [ "$count_mallocs" = 1 ]; then
  libc="$(ldd "${1%%@*}" | grep -o '/[^ ]*libc\.so\.6' | head -1)"
  [ -n "$libc" ] || { echo "bench-call-cost: $1 does not link libc.so.6" >&2; exit 2; }
  perf probe -q -x "$libc" -a malloc 2>/dev/null || true
  events+=(-e "probe_libc:malloc")
fi
if [ "$count_retains" = 1 ]; then
  core="$(ldd "${1%%@*}" | grep -o '/[^ ]*libswiftCore.so' | head -1)"
  [ -n "$core" ] || { echo "bench-call-cost: $1 does not link libswiftCore.so" >&2; exit 2; }
  perf probe -q -x "$core" -a swift_retain 2>/dev/null || true
  events+=(-e "probe_libswiftCore:swift_retain")
fi
if [ "$count_switches" = 1 ]; then
  concurrency="$(ldd "${1%%@*}" | grep -o '/[^ ]*libswift_Concurrency.so' | head -1)"
  [ -n "$concurrency" ] || { echo "bench-call-cost: $1 does not link libswift_Concurrency.so" >&2; exit 2; }
  for symbol in swift_task_switch swift_job_run_on_task_executor; do
    perf probe -q -x "$concurrency" -a "$symbol" 2>/dev/null || true
    events+=(-e "probe_libswift_Concurrency:$symbol")
  done
fi

hz="$(getconf CLK_TCK)"
# Ports above the kernel's ephemeral range (ip_local_port_range ends at 60999), so a
# client socket in TIME_WAIT from an earlier run never holds the port.
port=$((61000 + RANDOM % 4000))
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; true' EXIT
for spec in "$@"; do
  binary="${spec%%@*}"
  serve_args=()
  if [ "$spec" != "$binary" ]; then IFS=, read -r -a serve_args <<<"${spec#*@}"; fi
  port=$((port + 1))
  "${pin_server[@]}" "$binary" serve --port "$port" --log-level warning "${serve_args[@]}" >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do "$binary" health --port "$port" >/dev/null 2>&1 && break; sleep 0.1; done
  "$binary" health --port "$port" >/dev/null || { echo "bench-call-cost: $binary did not come up on port $port" >&2; exit 1; }
  if [ "$warmup" -gt 0 ]; then
    "${pin_load[@]}" h2load -c"$conns" -m"$streams" -n "$warmup" -d "$body" \
      -H 'content-type: application/grpc' -H 'te: trailers' \
      "http://127.0.0.1:$port/tokenwire.v1.TokenStream/Generate" >/dev/null 2>&1
  fi
  perf_pid=""
  if [ "${#events[@]}" -gt 0 ]; then
    perf stat "${events[@]}" -p "$server_pid" -o /tmp/bench-call-cost.$$.perf &
    perf_pid=$!
    sleep 0.5
  fi
  before="$(awk '{print $14 + $15}' "/proc/$server_pid/stat")"
  output="$("${pin_load[@]}" h2load -c"$conns" -m"$streams" -n "$calls" -d "$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port/tokenwire.v1.TokenStream/Generate" 2>&1)"
  after="$(awk '{print $14 + $15}' "/proc/$server_pid/stat")"
  switches=""
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    switches="$(awk -v n="$calls" '/probe_libswift_Concurrency:swift_task_switch/ {gsub(",", "", $1); s = $1}
      /probe_libswift_Concurrency:swift_job_run_on_task_executor/ {gsub(",", "", $1); j = $1}
      /probe_libc:malloc/ {gsub(",", "", $1); m = $1}
      /probe_libswiftCore:swift_retain/ {gsub(",", "", $1); r = $1}
      END {
        if (s != "") printf " task_switches_per_call=%.1f jobs_per_call=%.1f", s / n, j / n
        if (m != "") printf " mallocs_per_call=%.1f", m / n
        if (r != "") printf " retains_per_call=%.1f", r / n
      }' /tmp/bench-call-cost.$$.perf)"
    rm -f /tmp/bench-call-cost.$$.perf
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  rate="$(sed -n 's/.*finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$output")"
  succeeded="$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' <<<"$output")"
  [ "${succeeded:-0}" = "$calls" ] || echo "bench-call-cost: $binary: only ${succeeded:-0} of $calls calls succeeded" >&2
  awk -v b="$spec" -v r="$rate" -v ok="$succeeded" -v t=$((after - before)) -v hz="$hz" -v n="$calls" -v sw="$switches" \
    'BEGIN {printf "%s calls/s=%s succeeded=%s cpu_us_per_call=%.1f%s\n", b, r, ok, t / hz * 1e6 / n, sw}'
done
