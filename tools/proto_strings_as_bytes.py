#!/usr/bin/env python3
"""Writes a copy of a .proto in which every string field is a bytes field, for protoc-c.

protobuf-c gives string fields to C as NUL-terminated `char *`: a U+0000 inside a prompt or
a token would end the string there, silently. Bytes fields are a length and a pointer. The
two are the same on the wire (length-delimited, wire type 2), so clients that use the proto
as written in proto/ see no difference. A `map<string, string>` becomes the repeated entry
message protoc makes of a map anyway (`<Name>Entry { key = 1; value = 2; }`), so the C
names do not change either.

Usage: proto_strings_as_bytes.py INPUT OUTPUT
"""
import re
import sys

MAP = re.compile(r"^(\s*)map<\s*string\s*,\s*string\s*>\s+(\w+)\s*=\s*(\d+)\s*;(.*)$")
STRING_FIELD = re.compile(r"^(\s*)(repeated\s+|optional\s+)?string(\s+\w+\s*=\s*\d+.*)$")


def entry_name(field: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in field.split("_")) + "Entry"


def transform(lines):
    out = []
    for line in lines:
        m = MAP.match(line)
        if m:
            indent, name, number, rest = m.groups()
            entry = entry_name(name)
            out.append(f"{indent}message {entry} {{ bytes key = 1; bytes value = 2; }}\n")
            out.append(f"{indent}repeated {entry} {name} = {number};{rest}\n")
            continue
        m = STRING_FIELD.match(line)
        if m:
            indent, label, rest = m.groups()
            out.append(f"{indent}{label or ''}bytes{rest}\n")
            continue
        out.append(line)
    return out


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source) as f:
        lines = f.readlines()
    with open(target, "w") as f:
        f.writelines(transform(lines))


if __name__ == "__main__":
    main()
