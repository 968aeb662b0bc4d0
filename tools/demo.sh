#!/usr/bin/env bash
# Runs the Tokenwire demo: installs what is missing (tools/bootstrap.sh), then
# `swift run -c release tokenwire demo`. Extra arguments go to the demo subcommand.
#
# Usage: tools/demo.sh [demo arguments...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Bootstrap's progress goes to stderr so that stdout carries only the demo's output.
bash "$repo_root/tools/bootstrap.sh" >&2

cd "$repo_root"
exec swift run -c release tokenwire demo "$@"
