#!/usr/bin/env bash
# The project's one test command: installs what is missing (tools/bootstrap.sh), then runs
# `swift test` from the repository root. Extra arguments go to swift test unchanged.
#
# Usage: tools/test.sh [swift test arguments...]     e.g. tools/test.sh --filter Health
# Exit status: swift test's.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$repo_root/tools/bootstrap.sh"

cd "$repo_root"
# The integration tests find Tests/Interop/grpcio_client.py and proto/ through this.
export TOKENWIRE_REPO_ROOT="$repo_root"
echo "test: swift test${*:+ $*}"
exec swift test "$@"
