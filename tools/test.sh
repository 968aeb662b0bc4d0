#!/usr/bin/env bash
# The project's one test command: installs what is missing (tools/bootstrap.sh), then runs
# the tests of tools/ (pytest: the fake provider), `swift test` from the repository root,
# and a short fuzz pass (tools/fuzz.sh ci: every fuzz target but relay-config, 10 s each;
# docs/FUZZING.md). Extra arguments go to swift test unchanged (and skip the tools/ tests
# and the fuzz pass).
#
# Usage: tools/test.sh [swift test arguments...]     e.g. tools/test.sh --filter Health
# Environment: TOKENWIRE_FUZZ_SECONDS, seconds per fuzz target (default 10; 0 skips the
# fuzz pass).
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
if [ $# -gt 0 ]; then
  exec swift test "$@"
fi
swift test
fuzz_seconds="${TOKENWIRE_FUZZ_SECONDS:-10}"
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "test: bash tools/fuzz.sh ci $fuzz_seconds"
  bash "$repo_root/tools/fuzz.sh" ci "$fuzz_seconds"
fi
