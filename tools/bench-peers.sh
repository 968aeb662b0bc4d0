#!/usr/bin/env bash
# Benchmarks Tokenwire against other gRPC servers of the same contract, in one run.
#
# Builds tokenwire (release), starts `tokenwire serve` pinned to CPU 1, and runs the shared
# peer harness (../shared/peers/run.sh: grpc-swift 2, grpcio, nghttpd and rawframes
# ceilings, h2load pinned to CPU 0) with Tokenwire as an extra target, so every number is
# measured in the same invocation on the same machine. Prints the harness's markdown table
# (calls/s, tokens/s, TTFB, CPU) and writes raw results under --out.
#
# usage: tools/bench-peers.sh [--port 50090] [run.sh options, e.g. --reps 3 --secs 4 --peers "grpc-swift grpcio-aio"]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${TOKENWIRE_PEERS_DIR:-$repo_root/../shared/peers}"
port=50090
if [ "${1:-}" = "--port" ]; then port="$2"; shift 2; fi

[ -x "$peers/run.sh" ] || { echo "bench-peers: no peer harness at $peers/run.sh (set TOKENWIRE_PEERS_DIR)" >&2; exit 2; }
bash "$repo_root/tools/bootstrap.sh" >&2
if ! command -v nghttpd >/dev/null; then  # the harness's byte-ceiling peer; benchmarks only
  echo "bench-peers: installing nghttp2-server (nghttpd)" >&2
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq nghttp2-server >&2
fi

echo "bench-peers: building tokenwire (release)" >&2
(cd "$repo_root" && swift build -c release --product tokenwire >&2)
binary="$repo_root/.build/release/tokenwire"

pin=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then pin=(taskset -c 1); fi
"${pin[@]}" "$binary" serve --port "$port" --log-level warning &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$binary" health --port "$port" >/dev/null 2>&1 && break
  sleep 0.1
done
"$binary" health --port "$port" >/dev/null || { echo "bench-peers: tokenwire did not come up on port $port" >&2; exit 1; }

echo "bench-peers: tokenwire pid $server_pid on 127.0.0.1:$port; running $peers/run.sh" >&2
bash "$peers/run.sh" --target "tokenwire=127.0.0.1:$port/$server_pid" "$@"
