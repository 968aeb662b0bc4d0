#!/usr/bin/env bash
# Upstream parse throughput per dialect (events/s on one core), against a JSONSerialization
# baseline measured in the same invocation. See docs/BENCHMARKS.md, "Parse throughput".
#
# usage: tools/bench-parse.sh [tokenwire-bench parse options, e.g. --reps 7 --reads event,16k,1448 --json]
#
# Builds tokenwire-bench in release mode and runs `tokenwire-bench parse` pinned to CPU
# $BENCH_CPU (default 1). SCRATCH sets SwiftPM's --scratch-path (default .build).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="${SCRATCH:-$repo_root/.build}"
cpu="${BENCH_CPU:-1}"

echo "bench-parse: building tokenwire-bench (release, scratch $scratch)" >&2
(cd "$repo_root" && swift build -c release --product tokenwire-bench --scratch-path "$scratch" >&2)
binary="$scratch/release/tokenwire-bench"

pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt "$cpu" ]; then pin=(taskset -c "$cpu"); fi
echo "bench-parse: $(date -u +%FT%TZ) commit $(git -C "$repo_root" rev-parse --short HEAD)$(git -C "$repo_root" diff --quiet || echo '+dirty'); pinned: ${pin[*]:-no}; load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)" >&2
exec "${pin[@]}" "$binary" parse "$@"
