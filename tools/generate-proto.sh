#!/usr/bin/env bash
# Regenerates the protobuf-c bindings in Sources/CTokenwireProto from proto/.
#
# Headers go to Sources/CTokenwireProto/include/<path>/<name>.pb-c.h and sources to
# Sources/CTokenwireProto/<path>/<name>.pb-c.c, keeping the proto's relative path, so a
# generated `#include "tokenwire/v1/tokenwire.pb-c.h"` resolves through the target's
# include/ directory. The output is committed; tools/check-generated.sh checks for drift.
#
# Usage: tools/generate-proto.sh [output-root]
#   output-root defaults to the package root; check-generated.sh passes a temporary copy.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
output_root="${1:-$repo_root}"
proto_root="$repo_root/proto"
target_dir="$output_root/Sources/CTokenwireProto"

# The protos to compile, relative to proto/. Sorted so the output never depends on
# directory order.
protos=(
    grpc/health/v1/health.proto
    tokenwire/v1/tokenwire.proto
)

if ! command -v protoc-c >/dev/null 2>&1; then
    echo "error: protoc-c not found; install it (apt-get install protobuf-c-compiler)" >&2
    exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# protoc-c compiles a copy of each proto whose string fields are bytes fields (same wire
# encoding; a length instead of a NUL-terminated C string, so a U+0000 is data): see
# tools/proto_strings_as_bytes.py. Run from the copy's root so the "Generated from:"
# comments and include paths are relative and identical on every machine.
c_protos="$scratch/c-protos"
for proto in "${protos[@]}"; do
    mkdir -p "$c_protos/$(dirname "$proto")"
    python3 "$repo_root/tools/proto_strings_as_bytes.py" "$proto_root/$proto" "$c_protos/$proto"
done
(cd "$c_protos" && protoc-c -I . --c_out="$scratch" "${protos[@]}")

for proto in "${protos[@]}"; do
    relative_dir="$(dirname "$proto")"
    base="$(basename "$proto" .proto)"
    header="$scratch/$relative_dir/$base.pb-c.h"
    source="$scratch/$relative_dir/$base.pb-c.c"
    if [[ ! -f "$header" || ! -f "$source" ]]; then
        echo "error: protoc-c did not produce $relative_dir/$base.pb-c.{h,c}" >&2
        exit 1
    fi

    # protoc-c already writes `#include "<path>/<name>.pb-c.h"` relative to -I; make sure of
    # it (older protoc-c versions wrote a bare file name), so the .c resolves its header
    # through include/.
    # (sed without -i, so BSD and GNU sed behave the same.)
    sed -E "s|^#include \"([^\"/]*/)*$base\\.pb-c\\.h\"|#include \"$relative_dir/$base.pb-c.h\"|" \
        "$source" >"$source.fixed"
    mv "$source.fixed" "$source"

    mkdir -p "$target_dir/include/$relative_dir" "$target_dir/$relative_dir"
    cp "$header" "$target_dir/include/$relative_dir/$base.pb-c.h"
    cp "$source" "$target_dir/$relative_dir/$base.pb-c.c"
done

echo "generated protobuf-c bindings for ${#protos[@]} protos in ${target_dir#"$output_root"/}"
