#!/usr/bin/env bash
# The project's one test command: installs what is missing (tools/bootstrap.sh), then runs
# the tests of tools/ (pytest: the fake provider) and `swift test` from the repository
# root. Extra arguments go to swift test unchanged (and skip the tools/ tests).
#
# Usage: tools/test.sh [swift test arguments...]     e.g. tools/test.sh --filter Health
# Exit status: non-zero if either suite failed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$repo_root/tools/bootstrap.sh"

cd "$repo_root"
# The integration tests find Tests/Interop/grpcio_client.py and proto/ through this.
export TOKENWIRE_REPO_ROOT="$repo_root"
if [ $# -eq 0 ]; then
  echo "test: python3 -m pytest -q tools/fake_provider"
  python3 -m pytest -q -p no:cacheprovider tools/fake_provider
fi
echo "test: swift test${*:+ $*}"
exec swift test "$@"
