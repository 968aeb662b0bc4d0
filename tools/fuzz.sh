#!/usr/bin/env bash
# Runs the libFuzzer targets of Fuzz/ (docs/FUZZING.md) against their seed corpora.
#
# Usage: tools/fuzz.sh TARGET SECONDS     one target, e.g. tools/fuzz.sh sse-parser 60
#        tools/fuzz.sh all SECONDS        every target, SECONDS each
#        tools/fuzz.sh ci SECONDS         the targets CI runs (all but relay-config, whose
#                                         AsyncHTTPClient/NIOSSL graph doubles the build)
#        tools/fuzz.sh list               the target names
#
# Builds the fuzz package once (debug, `-Xswiftc -sanitize=fuzzer,address`, scratch path
# Fuzz/.build; only the products the run needs), then runs each target on a copy of
# Fuzz/Corpus/<target>/ in a temporary directory, so runs never write into git. Prints the
# executions, exec/s and whether the target crashed; a crash (trap, ASan report, leak,
# timeout or out-of-memory) keeps its temporary directory and prints the input's path and
# the command that reproduces it.
#
# Environment: FUZZ_RUNS (stop each target after this many executions, or at SECONDS,
# whichever comes first: `FUZZ_RUNS=10000000 tools/fuzz.sh json 7200` for a long run),
# FUZZ_JOBS (build jobs, default 2), FUZZ_CONFIG=release (an optimized build
# with -enable-testing, several times the executions per second, for long runs; CI uses
# the default debug build, which is quicker to build), FUZZ_NO_BUILD=1 (use the binaries as
# built), FUZZ_MAX_LEN (overrides every target's -max_len), FUZZ_KEEP=1 (keep the temporary directories), FUZZ_MERGE=1 (merge the inputs a
# run found into Fuzz/Corpus/<target>/, minimized: for long runs, then commit them).
# Exit status: non-zero if any target crashed or the build failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package="$repo_root/Fuzz"
scratch="$package/.build"
jobs="${FUZZ_JOBS:-2}"
config="${FUZZ_CONFIG:-debug}"
case "$config" in
  debug) config_flags=(-c debug) ;;
  # @testable import needs the imported modules built for testing, which only debug does by default.
  release) config_flags=(-c release -Xswiftc -enable-testing) ;;
  *) printf 'fuzz: error: FUZZ_CONFIG must be debug or release, not %s\n' "$config" >&2; exit 2 ;;
esac

# Target, then libFuzzer's -max_len for it: long enough for a recorded stream or a few
# HTTP/2 calls, short enough that every execution stays cheap.
targets=(
  "sse-parser 16384"
  "ndjson-splitter 8192"
  "json 8192"
  "dialects 16384"
  "deframer 4096"
  "protobuf 2048"
  "grpc-timeout 32"
  "relay-config 4096"
  "resp 4096"
  "http2-server 4096"
)
ci_targets=(sse-parser ndjson-splitter json dialects deframer protobuf grpc-timeout http2-server resp)

say() { printf 'fuzz: %s\n' "$*"; }
die() { printf 'fuzz: error: %s\n' "$*" >&2; exit 2; }

max_len_of() {
  local entry
  for entry in "${targets[@]}"; do
    if [ "${entry%% *}" = "$1" ]; then echo "${entry##* }"; return 0; fi
  done
  return 1
}

all_names() { local entry; for entry in "${targets[@]}"; do echo "${entry%% *}"; done; }

[ $# -ge 1 ] || die "usage: tools/fuzz.sh TARGET|all|ci SECONDS  (tools/fuzz.sh list for the targets)"
if [ "$1" = "list" ]; then all_names; exit 0; fi
[ $# -eq 2 ] || die "usage: tools/fuzz.sh TARGET|all|ci SECONDS"
seconds="$2"
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || die "SECONDS must be a positive whole number, not '$seconds'"

case "$1" in
  all) mapfile -t selected < <(all_names) ;;
  ci) selected=("${ci_targets[@]}") ;;
  *) max_len_of "$1" >/dev/null || die "unknown target '$1' (known: $(all_names | tr '\n' ' '))"; selected=("$1") ;;
esac

build() {
  local started=$SECONDS
  local products=()
  if [ "${#selected[@]}" -eq "$(all_names | wc -l)" ]; then
    say "building all targets ($config, -sanitize=fuzzer,address, -j $jobs, scratch $scratch)"
    swift build --package-path "$package" --scratch-path "$scratch" "${config_flags[@]}" -j "$jobs" \
      -Xswiftc -sanitize=fuzzer,address
  else
    for name in "${selected[@]}"; do products+=("fuzz-$name"); done
    say "building ${products[*]} ($config, -sanitize=fuzzer,address, -j $jobs, scratch $scratch)"
    for product in "${products[@]}"; do
      swift build --package-path "$package" --scratch-path "$scratch" "${config_flags[@]}" -j "$jobs" \
        -Xswiftc -sanitize=fuzzer,address --product "$product"
    done
  fi
  say "build took $((SECONDS - started)) s"
}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  # The linker warns once per ASan helper symbol (hundreds of lines) on every link.
  set +e
  build 2>&1 | grep -v "Cannot export local symbol"
  build_status=${PIPESTATUS[0]}
  set -e
  [ "$build_status" -eq 0 ] || die "the fuzz build failed"
fi
bin_dir="$(swift build --package-path "$package" --scratch-path "$scratch" "${config_flags[@]}" --show-bin-path)"

# Swift's crash backtracer reads the stack in ways ASan reports as a second error; the
# trap itself is what libFuzzer needs to see.
export SWIFT_BACKTRACE="enable=no"

failed=()
total_runs=0
run_target() {
  local name="$1" max_len binary work log status runs rate rss artifacts before after target_started=$SECONDS
  max_len="${FUZZ_MAX_LEN:-$(max_len_of "$name")}"
  binary="$bin_dir/fuzz-$name"
  [ -x "$binary" ] || die "$binary is missing (build it, or unset FUZZ_NO_BUILD)"
  work="$(mktemp -d "${TMPDIR:-/tmp}/tokenwire-fuzz-$name.XXXXXX")"
  mkdir -p "$work/corpus"
  if [ -d "$package/Corpus/$name" ]; then cp -R "$package/Corpus/$name/." "$work/corpus/"; fi
  before="$(find "$work/corpus" -type f | wc -l)"
  log="$work/fuzz.log"
  set +e
  # -rss_limit_mb: the HTTP/2 target holds a connection per input; a leak shows as growth.
  local runs_flag=()
  if [ -n "${FUZZ_RUNS:-}" ]; then runs_flag=(-runs="$FUZZ_RUNS"); fi
  "$binary" "$work/corpus" -max_total_time="$seconds" "${runs_flag[@]}" -max_len="$max_len" -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/" >"$log" 2>&1
  status=$?
  set -e
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  after="$(find "$work/corpus" -type f | wc -l)"
  total_runs=$((total_runs + ${runs:-0}))
  artifacts="$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -5)"
  if [ "$status" -ne 0 ] || [ -n "$artifacts" ]; then
    failed+=("$name")
    say "$name: CRASHED (exit $status) after ${runs:-?} executions; log: $log"
    grep -E "ERROR: |SUMMARY: |Fatal error|fuzz invariant|panic|deadly signal" "$log" | head -8 | sed 's/^/fuzz:   /' || true
    local artifact
    for artifact in $artifacts; do
      say "  input: $artifact"
      say "  reproduce: $binary $artifact"
      say "  minimize:  $binary -minimize_crash=1 -runs=100000 -artifact_prefix=$work/min- $artifact"
    done
    return 0
  fi
  say "$name: ${runs:-0} executions in $((SECONDS - target_started)) s (${rate:-0} exec/s), corpus $before -> $after files, peak RSS ${rss:-?} MB, no crash"
  if [ "${FUZZ_MERGE:-0}" = 1 ]; then
    mkdir -p "$package/Corpus/$name"
    "$binary" -merge=1 -max_len="$max_len" "$package/Corpus/$name" "$work/corpus" >"$work/merge.log" 2>&1 \
      || say "$name: merge failed, see $work/merge.log"
    say "$name: Fuzz/Corpus/$name now has $(find "$package/Corpus/$name" -type f | wc -l) files"
  fi
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then say "$name: kept $work"; else rm -rf "$work"; fi
}

for name in "${selected[@]}"; do
  run_target "$name"
done

# The last line in the plain "N passed, N failed" form that CI reads for any runner.
if [ "${#failed[@]}" -gt 0 ]; then
  say "FAILED: ${failed[*]} crashed ($total_runs executions in all)"
  say "$(( ${#selected[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
  exit 1
fi
say "${#selected[@]} target(s), $total_runs executions, no crash"
say "${#selected[@]} passed, 0 failed"
