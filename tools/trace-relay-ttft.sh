#!/usr/bin/env bash
# Where a relayed call's time to first token goes, read from the relay's own system calls.
#
# Starts the relay harness's fake OpenAI provider (../shared/peers/relay/upstream.py) on CPU 1
# with --interval ms between tokens (its first token goes out with the response head), then
# for each relay in turn: the relay pinned to CPU 0, one stream making --calls calls of
# --tokens tokens back to back, and `perf record` of the relay's socket system calls
# (syscalls:sys_{enter,exit}_{read,recvfrom,readv} and sys_enter_{write,writev,sendto}).
# Every call is then cut into segments by the relay's sockets (told apart by their ports
# in /proc/net/tcp):
#
#   A  request read from the client        -> the upstream request's first write   (the relay's)
#   B  the upstream request's first write  -> the upstream's first bytes read      (the provider's)
#   C  the upstream's first bytes read     -> the first write to the client        (the relay's)
#   D  each later upstream read            -> the write to the client after it      (per token)
#
# and prints p50/p90 of each, with A + C (the relay's own part of the time to first token)
# beside the TTFT its load client measured. The client's own costs are not in A-D, so the
# relays compare on equal terms although their clients differ: Tokenwire is driven by
# `tokenwire-bench relay-load --client raw` (gRPC over HTTP/2),
# nginx (--nginx, the harness's config) by the harness's client.py; both time socket reads.
# A read from the client of fewer than 40 bytes (a WINDOW_UPDATE, a PING) is not a request.
#
# usage: tools/trace-relay-ttft.sh [--calls N] [--interval MS] [--tokens N] [--nginx] [BINARY...]
#   defaults: 40 calls, 20 ms, 3 tokens; BINARY = .build/release/tokenwire; needs root, perf
#   and the harness's venv (../shared/peers/relay/setup.sh, run if missing).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
script=trace-relay-ttft
source "$repo_root/tools/relay-upstream.sh"
up_port=18091
port=50078
calls=40
interval=20
tokens=3
with_nginx=0
while [ $# -gt 0 ]; do
  case "$1" in
    --calls) calls="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --nginx) with_nginx=1; shift ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    -*) echo "trace-relay-ttft: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("$repo_root/.build/release/tokenwire")
command -v perf >/dev/null || { echo "trace-relay-ttft: perf is missing (apt-get install linux-perf)" >&2; exit 2; }
perf list 'syscalls:sys_enter_read' 2>/dev/null | grep -q sys_enter_read \
  || { echo "trace-relay-ttft: perf cannot see the syscall tracepoints (run as root with tracefs mounted)" >&2; exit 2; }
[ "$with_nginx" = 0 ] || command -v nginx >/dev/null || { echo "trace-relay-ttft: --nginx needs nginx (apt-get install nginx-light)" >&2; exit 2; }
relay_harness_ready

pin_relay=(); pin_load=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin_relay=(taskset -c 0); pin_load=(taskset -c 1); fi
work="$(mktemp -d)"
up_pid=""; relay_pid=""; traced=0
trap '[ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null; [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null; [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"; true' EXIT
events="syscalls:sys_enter_read,syscalls:sys_exit_read,syscalls:sys_enter_recvfrom,syscalls:sys_exit_recvfrom"
events="$events,syscalls:sys_enter_readv,syscalls:sys_exit_readv"
events="$events,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto"

start_relay_upstream "$up_port" "$interval" "$work/upstream.log" "${pin_load[@]}"

# The relay's connected sockets: "fd kind" lines, kind = client (local port $port) or upstream
# (remote port $up_port); the listening socket (state 0A) is not one.
sockets() {  # PID
  local pid=$1 fd link inode here there
  declare -A kinds=()
  while read -r here there inode; do
    case "$here" in *:$(printf '%04X' "$port")) kinds[$inode]=client ;; esac
    case "$there" in *:$(printf '%04X' "$up_port")) kinds[$inode]=upstream ;; esac
  done < <(awk 'NR > 1 && $4 != "0A" {print $2, $3, $10}' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  # One `find` for every descriptor (the server holds hundreds: a readlink each is too slow
  # to catch a short load's connection).
  while read -r fd link; do
    inode="${link#socket:[}"; inode="${inode%]}"
    [ -n "${kinds[$inode]:-}" ] && echo "$fd ${kinds[$inode]}"
  done < <(find /proc/"$pid"/fd -maxdepth 1 -lname 'socket:*' -printf '%f %l\n' 2>/dev/null)
  return 0
}

# trace NAME PID LOAD...: records PID's socket calls while LOAD runs, then prints the segments.
trace() {
  local name=$1 pid=$2 key; shift 2
  key="relay$((++traced))"
  "${pin_load[@]}" "$@" > "$work/warmup.txt" 2>&1 || true   # warm-up: connections open, code paged in
  perf record -q -e "$events" -p "$pid" -o "$work/$key.data" > /dev/null 2>&1 &
  local perf_pid=$!
  sleep 1
  "${pin_load[@]}" "$@" > "$work/$key.load" 2>&1 &
  local load_pid=$! i
  # The sockets are read while the load runs: its connection closes with it.
  for i in $(seq 1 1000); do
    sockets "$pid" > "$work/$key.fds"
    grep -q client "$work/$key.fds" && grep -q upstream "$work/$key.fds" && break
    kill -0 "$load_pid" 2>/dev/null || break
    sleep 0.01
  done
  wait "$load_pid" || true
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
  perf script -i "$work/$key.data" -F tid,time,event,trace > "$work/$key.txt" 2>/dev/null
  grep -q client "$work/$key.fds" || echo "trace-relay-ttft: $name: the load ended before its connection was seen; give more --calls" >&2
  python3 - "$name" "$work/$key.txt" "$work/$key.fds" "$work/$key.load" <<'PY'
import re, sys
name, trace, fds, load = sys.argv[1:5]
kind = dict(line.split() for line in open(fds) if line.strip())
kind = {int(fd): k for fd, k in kind.items()}
pending = {}  # tid -> fd of the read in progress
events = []   # (time, "read"|"write", kind, bytes)
for line in open(trace):
    m = re.match(r"\s*(\d+)\s+([\d.]+):\s+syscalls:sys_(enter|exit)_(\w+):\s*(.*)", line)
    if not m:
        continue
    tid, t, phase, call, rest = int(m[1]), float(m[2]), m[3], m[4], m[5]
    if phase == "enter":
        fd = int(re.search(r"fd: (0x[0-9a-f]+)", rest)[1], 16)
        if call in ("read", "recvfrom", "readv"):
            pending[tid] = fd
        elif fd in kind:
            events.append((t, "write", kind[fd], 0))
    else:
        fd = pending.pop(tid, None)
        ret = int(rest.strip(), 16) if rest.strip().startswith("0x") else int(rest.strip() or 0)
        if fd in kind and 0 < ret < 1 << 62:
            events.append((t, "read", kind[fd], ret))
A, B, C, D = [], [], [], []
call = None
last_upstream_read = None
for t, op, k, n in events:
    if op == "read" and k == "client" and n >= 40:
        call = {"request": t}
        last_upstream_read = None
    elif call is None:
        continue
    elif op == "write" and k == "upstream" and "upstream_request" not in call:
        call["upstream_request"] = t
    elif op == "read" and k == "upstream" and "upstream_request" in call:
        call.setdefault("upstream_first", t)
        last_upstream_read = t
    elif op == "write" and k == "client" and last_upstream_read is not None:
        if "first_out" not in call:
            call["first_out"] = t
            A.append(call["upstream_request"] - call["request"])
            B.append(call["upstream_first"] - call["upstream_request"])
            C.append(t - last_upstream_read)
        else:
            D.append(t - last_upstream_read)
        last_upstream_read = None
def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e6 if values else float("nan")
def seg(values):
    return "%.0f/%.0f" % (pct(values, 0.5), pct(values, 0.9))
added = [a + c for a, c in zip(A, C)]
client = re.search(r"ttft_ms p50/p90/p99=([\d.]+)/([\d.]+)", open(load).read())
client_ttft = f"{client[1]}/{client[2]} ms" if client else "?"
print(f"{name}: calls={len(A)} µs p50/p90: A request->upstream request {seg(A)}, B provider {seg(B)}, "
      f"C upstream bytes->first write {seg(C)}, relay's TTFT A+C {seg(added)}, D per token {seg(D)} (n={len(D)}); "
      f"client TTFT {client_ttft}")
PY
}

cat > "$work/providers.json" <<EOF
{ "providers": [ { "name": "local", "dialect": "openai-chat", "base_url": "http://127.0.0.1:$up_port/v1", "models": ["gpt-fake"] } ] }
EOF
for binary in "${binaries[@]}"; do
  "${pin_relay[@]}" "$binary" serve --port "$port" --config "$work/providers.json" --log-level warning >/dev/null 2>&1 &
  relay_pid=$!
  for _ in $(seq 1 100); do "$binary" health --port "$port" >/dev/null 2>&1 && break; sleep 0.1; done
  "$binary" health --port "$port" >/dev/null || { echo "trace-relay-ttft: $binary did not come up on port $port" >&2; exit 1; }
  trace "$binary" "$relay_pid" "$bench" relay-load --client raw --target "127.0.0.1:$port" --model local/gpt-fake \
    -c 1 -n "$tokens" -d 600 -r "$calls" --grace 5 --timeout 30
  kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true
  relay_pid=""
done

if [ "$with_nginx" = 1 ]; then
  mkdir -p "$work/nginx"
  sed -e "s#@DIR@#$work/nginx#g" -e "s#@PORT@#$port#g" -e "s#@UP_PORT@#$up_port#g" "$relay_dir/nginx.conf.in" > "$work/nginx/nginx.conf"
  "${pin_relay[@]}" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" > "$work/nginx/stdout.log" 2>&1 &
  relay_pid=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" && break; sleep 0.1; done
  worker="$(pgrep -P "$relay_pid" -f 'nginx: worker' | head -1)"
  [ -n "$worker" ] || { echo "trace-relay-ttft: nginx did not start (see $work/nginx)" >&2; exit 1; }
  trace nginx "$worker" "$PY" "$relay_dir/client.py" --url "http://127.0.0.1:$port" -c 1 -n "$tokens" -d 600 -r "$calls" --grace 5 --timeout 30
  kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true
  relay_pid=""
fi
