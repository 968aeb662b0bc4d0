#!/usr/bin/env bash
# Where the allocations of a Generate call come from: starts `BINARY serve` pinned to CPU 1,
# makes 5,000 c50 calls (h2load, 16 x 16, ../shared/peers/bodies/gen50.bin) to warm it,
# then records every libc malloc (a perf uprobe, with call graphs) during 5,000 more, and
# prints allocations per call by the first Tokenwire (or NIO) frame that asked for them.
# Needs root and perf. Pair with `tools/bench-call-cost.sh --count-mallocs`.
#
# usage: tools/malloc-sites.sh BINARY [OUT]   (OUT: a file for the table; default stdout)
set -euo pipefail
bin=$1; out=${2:-/dev/stdout}; port=$((61000 + RANDOM % 4000))
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
body="$repo_root/../shared/peers/bodies/gen50.bin"
libc="$(ldd "$bin" | grep -o '/[^ ]*libc\.so\.6' | head -1)"
perf probe -q -x "$libc" -a malloc 2>/dev/null || true
taskset -c 1 "$bin" serve --port $port --log-level warning >/dev/null 2>&1 & pid=$!; sleep 1.5
h2load -n 5000 -c 16 -m 16 --data=$body -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:$port/tokenwire.v1.TokenStream/Generate >/dev/null 2>&1
perf record -e probe_libc:malloc -g -p $pid -o /tmp/ms.$$.data >/dev/null 2>&1 & rp=$!; sleep 0.5
taskset -c 0 h2load -n 5000 -c 16 -m 16 --data=$body -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:$port/tokenwire.v1.TokenStream/Generate >/dev/null 2>&1
kill -INT $rp; wait $rp || true; kill $pid; wait $pid 2>/dev/null || true
# A sample is its stack, innermost first, then a blank line; the site is the first frame
# that is not the allocator, the runtime or the standard library.
perf script -i /tmp/ms.$$.data -F ip,sym 2>/dev/null | awk '
/^$/ { if (seen) { if (key != "") c[key]++; else c["(runtime or standard library only)"]++ } key=""; seen=0; next }
{ seen=1; sym=$2; if (key=="" && sym !~ /^(malloc|swift_allocObject|swift_slowAlloc|swift::|_int_|\$ss|\$sS|swift_task|swift_job|operator|\[unknown\]|__|std::|\$s7NIOCore10ByteBufferV8_Storage|\$sSa|swift_)/ ) key=sym }
END { for (k in c) printf "%7.2f %s\n", c[k]/5000, k }' | sort -rn > "$out"
rm -f /tmp/ms.$$.data
