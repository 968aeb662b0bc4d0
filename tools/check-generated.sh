#!/usr/bin/env bash
# Fails if the committed protobuf-c bindings or the served descriptor set in
# Sources/CTokenwireProto differ from what tools/generate-proto.sh produces from proto/ today.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
committed="$repo_root/Sources/CTokenwireProto"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# Start from the committed target minus everything generated, so hand-written files (the
# umbrella header) carry over and a stale generated file shows up as "Only in".
mkdir -p "$scratch/Sources"
cp -R "$committed" "$scratch/Sources/CTokenwireProto"
find "$scratch/Sources/CTokenwireProto" \( -name '*.pb-c.[ch]' -o -name 'served_descriptor_set.[ch]' \) -delete
"$repo_root/tools/generate-proto.sh" "$scratch" >/dev/null

if ! diff -ru "$committed" "$scratch/Sources/CTokenwireProto"; then
    echo >&2
    echo "error: Sources/CTokenwireProto is out of date with proto/." >&2
    echo "       run tools/generate-proto.sh and commit the result." >&2
    exit 1
fi

echo "Sources/CTokenwireProto is up to date with proto/"
