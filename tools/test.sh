#!/usr/bin/env bash
# The project's one test command: installs what is missing (tools/bootstrap.sh), then runs
# the tests of tools/ (pytest: the fake provider), `swift test` from the repository root,
# and a short fuzz pass (tools/fuzz.sh ci: every fuzz target but relay-config, 10 s each;
# docs/FUZZING.md). Extra arguments go to swift test unchanged (and skip the tools/ tests
# and the fuzz pass).
#
# Usage: tools/test.sh [swift test arguments...]     e.g. tools/test.sh --filter Health
# Environment: TOKENWIRE_FUZZ_SECONDS, seconds per fuzz target (default 10; 0 skips the
# fuzz pass). TOKENWIRE_SWIFT_TEST_LIMIT, seconds `swift test` (build and run) may take
# (default 2400; CI takes about 420): past it the test process's threads and descriptors
# are printed and it is stopped, so a hung suite fails with evidence instead of running
# into CI's 90 minutes.
# Exit status: non-zero if any suite failed or a fuzz target crashed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$repo_root/tools/bootstrap.sh"

cd "$repo_root"
# The integration tests find Tests/Interop/grpcio_client.py and proto/ through this.
export TOKENWIRE_REPO_ROOT="$repo_root"
# A crash prints the crashed thread's backtrace, quickly, and the run ends: the default
# symbolicates all of a test process's few hundred threads, which under load took longer
# than the run had (a crash then looked like a hang).
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=yes,interactive=no,threads=crashed,symbolicate=fast}"
if [ $# -eq 0 ]; then
  echo "test: python3 -m pytest -q tools/fake_provider"
  python3 -m pytest -q -p no:cacheprovider tools/fake_provider
fi
echo "test: swift test${*:+ $*}"

# Prints what a hung test process is doing: every thread's stack (gdb) and its open
# descriptors by kind (a closed eventfd or timerfd of Dispatch's would stop every timer).
dump_test_processes() {
  local pid
  for pid in $(pgrep -f 'TokenwirePackageTests.xctest' || true); do
    echo "test: --- process $pid: descriptors by kind ---"
    ls -l "/proc/$pid/fd" 2>/dev/null | awk 'NR > 1 { k = $NF; if (k !~ /^anon_inode/) { sub(/:.*/, "", k); sub(/[0-9]+$/, "", k) } kinds[k]++ }
      END { for (k in kinds) printf "  %5d %s\n", kinds[k], k }'
    echo "test: descriptors 0-9 (Dispatch's epoll, eventfd and timerfd are among them):"
    ls -l "/proc/$pid/fd" 2>/dev/null | awk '$(NF-2) ~ /^[0-9]$/ { print "  " $(NF-2), $NF }'
    if command -v gdb >/dev/null 2>&1; then
      echo "test: --- process $pid: threads ---"
      timeout 120 gdb -p "$pid" -batch -ex 'info threads' -ex 'thread apply all bt 25' 2>/dev/null | grep -v '^\[New LWP' | head -3000
    fi
  done
}

# Runs swift test with a watchdog: past the limit, the evidence, then the processes stop.
bounded_swift_test() {
  local limit="${TOKENWIRE_SWIFT_TEST_LIMIT:-2400}" status=0
  swift test "$@" &
  local test_pid=$!
  (
    waited=0
    while kill -0 "$test_pid" 2>/dev/null; do
      if [ "$waited" -ge "$limit" ]; then
        echo "test: error: swift test is still running after ${limit} s (a hung test?); its state follows, then it is stopped" >&2
        dump_test_processes >&2
        pkill -KILL -f 'TokenwirePackageTests.xctest' || true
        sleep 5
        kill -KILL "$test_pid" 2>/dev/null || true
        exit 0
      fi
      sleep 5
      waited=$((waited + 5))
    done
  ) &
  local watchdog=$!
  wait "$test_pid" || status=$?
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  return "$status"
}

if [ $# -gt 0 ]; then
  bounded_swift_test "$@"
  exit $?
fi
bounded_swift_test
fuzz_seconds="${TOKENWIRE_FUZZ_SECONDS:-10}"
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "test: bash tools/fuzz.sh ci $fuzz_seconds"
  bash "$repo_root/tools/fuzz.sh" ci "$fuzz_seconds"
fi
