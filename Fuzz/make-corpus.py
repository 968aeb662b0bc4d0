#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora to Fuzz/Corpus/<target>/ (docs/FUZZING.md).

Seeds come from the recorded upstream fixtures (Tests/TokenwireUpstreamTests/Fixtures/),
whole and in slices, from inputs of the unit tests, and from small hand-made gRPC and
HTTP/2 byte sequences (the HTTP/2 ones are encoded with the h2 package's HPACK encoder).
Deterministic: running it twice writes the same files. Files other targets' runs found
(named by their SHA-1, as libFuzzer names them) are left alone.

Usage: python3 Fuzz/make-corpus.py
"""
import hashlib
import pathlib
import re
import struct

import hpack

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/TokenwireUpstreamTests/Fixtures"
CORPUS = ROOT / "Fuzz/Corpus"

# UpstreamDialectKind.allCases order: the dialect target's first byte picks one of these.
DIALECTS = ["openai-chat", "openai-responses", "anthropic", "gemini", "cohere", "ollama", "tgi"]


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(bytes(data))


def split_header(length, cuts):
    """The chunked targets' header: the cut count, then each cut as two bytes."""
    header = bytes([len(cuts)])
    for cut in cuts:
        header += struct.pack(">H", cut % 65536)
    return header


def chunked(payload, cuts=()):
    return split_header(len(payload), list(cuts)) + payload


def slices(data, size=160):
    """A few slices of a file: its start, its middle and its end."""
    if len(data) <= size:
        return []
    middle = len(data) // 2
    return [data[:size], data[middle - size // 2:middle + size // 2], data[-size:]]


def fixtures():
    return sorted(p for p in FIXTURES.iterdir() if p.suffix in (".sse", ".ndjson"))


def cuts_for(length, seed):
    """Three cut points spread over the payload, varied by seed."""
    if length == 0:
        return []
    return [(length * k // 4 + seed * 7) % (length + 1) for k in (1, 2, 3)]


# MARK: SSE, NDJSON, dialects, JSON

SSE_UNIT_INPUTS = [
    b"data: a\r\ndata: b\r\n\ndata: c\r\r",
    "\ufeff\ufeffdata:1\n\ndata:2\n\ndata:3".encode(),
    "data: x\n\n\ufeffdata: y\n\n".encode(),
    b": OPENROUTER PROCESSING\n\n:\n\ndata: x\n: inside\n\n",
    b"data\n\ndata\ndata\n\nevent\ndata: x\n\n",
    b"data:x\n\ndata:  y\n\ndata: \n\n",
    b'data: {\ndata: "foo":\ndata: \ndata:\ndata: true}\n\n',
    b"event: ping\n\ndata: x\n\n",
    b"id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
    b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
    b"retry: 1000\nretry: 12a\nretry: 99999999999999999999999\ndata: x\n\n",
    b'error: {"code":400}\ndata: [DONE]\n\n',
    b'data: a\n\nevent: message_stop\ndata: {"type":"message_stop"}',
    "data: caf\u00e9 \u2028 \u0085 \U0001F600\n\n".encode(),
    b"data: \xff\xfe\xc3\n\n",
    b"\r\n\r\r\n\n\r",
]

NDJSON_UNIT_INPUTS = [
    b'{"a":1}\n{"b":2}\r\n\n  \t\n{"c":3}',
    '\ufeff{"a":1}\n'.encode(),
    b'{"a":1}\r\r\n\r\n',
    b"\n\n\n",
    b'{"unterminated": "\xe2\x82',
]

JSON_INPUTS = [
    b'{"a":[1,-2.5e10,true,false,null,"x\\u00e9\\ud83d\\ude00"],"b":{}}',
    b'[1e400, -1e-400, 123456789012345678901234567890, -0, 0.1, 9007199254740993]',
    b'"\\ud800"', b'"\\udc00"', b'"\\u00"', b'[1,]', b'01', b'1.', b'.5', b'+1',
    b'\xef\xbb\xbf {"bom": true} ', b'[' * 600 + b']' * 600, b'[' * 511 + b']' * 511,
    b'{"a":1,"a":2}', b'{"index": 1.0, "choices": [{"index": 0, "delta": {"content": "hi"}}]}',
    b'{"usage": {"prompt_tokens": 3.7, "completion_tokens": 1e3}, "code": 429}',
    b'{"a": 127, "b": 255, "c": 2147483647, "d": 18446744073709551615, "e": 3.4e38, "f": 1.7e308}',
    b'{"content": ["a", "b"], "arguments": {"x": [1, {"y": null}]}, "nested": [{"k": [1, 2]}]}',
]


def sse_data_payloads(data):
    """The JSON payloads of a fixture's data lines."""
    payloads = []
    for line in re.split(rb"\r\n|\r|\n", data):
        if line.startswith(b"data:"):
            payload = line[5:].lstrip(b" ")
            if payload.startswith((b"{", b"[")):
                payloads.append(payload)
        elif line.startswith(b"{"):
            payloads.append(line)
    return payloads


def dialect_of(name):
    for position, dialect in sorted(enumerate(DIALECTS), key=lambda item: -len(item[1])):
        if name.startswith(dialect):
            return position
    return 0  # mistral speaks openai-chat; the WPT input goes to it too


def text_targets():
    for number, text in enumerate(SSE_UNIT_INPUTS):
        write("sse-parser", f"unit-{number:02d}", chunked(text))
        write("sse-parser", f"unit-{number:02d}-cut", chunked(text, cuts_for(len(text), number)))
    for number, text in enumerate(NDJSON_UNIT_INPUTS):
        write("ndjson-splitter", f"unit-{number:02d}", chunked(text))
        write("ndjson-splitter", f"unit-{number:02d}-cut", chunked(text, cuts_for(len(text), number)))
    for number, text in enumerate(JSON_INPUTS):
        write("json", f"unit-{number:02d}", text)

    json_seen = set()
    for path in fixtures():
        data = path.read_bytes()
        stem = path.stem.replace(".", "-")
        target = "ndjson-splitter" if path.suffix == ".ndjson" else "sse-parser"
        write(target, stem, chunked(data))
        write(target, stem + "-cut", chunked(data, cuts_for(len(data), 1)))
        for number, piece in enumerate(slices(data)):
            write(target, f"{stem}-slice{number}", chunked(piece, cuts_for(len(piece), number)))

        dialect = bytes([dialect_of(path.name)])
        write("dialects", stem, dialect + chunked(data))
        write("dialects", stem + "-cut", dialect + chunked(data, cuts_for(len(data), 2)))
        # The stream cut short: the dialect must say it ended early.
        write("dialects", stem + "-truncated", dialect + chunked(data[: len(data) * 2 // 3]))

        for payload in sse_data_payloads(data):
            digest = hashlib.sha1(payload).hexdigest()[:12]
            if digest not in json_seen:
                json_seen.add(digest)
                write("json", f"{stem}-{digest}", payload)


# MARK: gRPC: protobuf, deframer, timeout

def varint(value):
    out = b""
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, wire_type, payload):
    key = varint(number << 3 | wire_type)
    if wire_type == 0:
        return key + varint(payload)
    if wire_type == 5:
        return key + payload
    return key + varint(len(payload)) + payload


def generate_request(model=b"synthetic/flood", max_tokens=4, messages=((b"user", b"hi"),), temperature=None,
                     resume=None, metadata=()):
    body = field(1, 2, model)
    for role, content in messages:
        body += field(2, 2, field(1, 2, role) + field(2, 2, content))
    if max_tokens:
        body += field(3, 0, max_tokens)
    if temperature is not None:
        body += field(4, 5, struct.pack("<f", temperature))
    if resume:
        body += field(5, 2, resume[0]) + field(6, 0, resume[1])
    for key, value in metadata:
        body += field(7, 2, field(1, 2, key) + field(2, 2, value))
    return body


def batch_request(items, concurrency=0):
    body = b"".join(field(1, 2, item) for item in items)
    if concurrency:
        body += field(2, 0, concurrency)
    return body


def health_request(service=b""):
    return field(1, 2, service) if service else b""


def grpc_message(body, flag=0):
    return bytes([flag]) + struct.pack(">I", len(body)) + body


GENERATE = generate_request()
GENERATE_FULL = generate_request(
    model=b"flood", max_tokens=3, messages=((b"system", b"be brief"), (b"user", "caf\u00e9".encode())),
    temperature=0.7, resume=(b"token-1", 5), metadata=((b"x-trace", b"1"), (b"a", b"b"), (b"x-trace", b"2")))
BATCH = batch_request([GENERATE, generate_request(model=b"synthetic/fail", max_tokens=2), generate_request(model=b"nope/x")], 2)
HEALTH = health_request(b"tokenwire.v1.TokenStream")


def grpc_targets():
    protobuf = {
        "generate": b"\x00" + GENERATE,
        "generate-full": b"\x00" + GENERATE_FULL,
        "generate-nan": b"\x00" + generate_request(temperature=float("nan")),
        "generate-unknown-field": b"\x00" + GENERATE + field(15, 0, 7) + field(16, 2, b"zz"),
        "batch": b"\x01" + BATCH,
        "batch-empty": b"\x01",
        "health": b"\x02" + HEALTH,
        "health-empty": b"\x02",
        "truncated": b"\x00" + GENERATE_FULL[:-3],
    }
    for name, data in protobuf.items():
        write("protobuf", name, data)

    messages = grpc_message(GENERATE) + grpc_message(b"") + grpc_message(HEALTH)
    deframer = {
        "three-messages": bytes([7]) + chunked(messages, [3, 12, 30]),
        "limit-5": bytes([3]) + chunked(grpc_message(b"12345") + grpc_message(b"123456")),
        "compressed": bytes([7]) + chunked(grpc_message(b"abc", flag=1)),
        "bad-flag": bytes([7]) + chunked(grpc_message(b"abc", flag=2)),
        "huge-length": bytes([7]) + chunked(b"\x00\xff\xff\xff\xff"),
        "partial": bytes([5]) + chunked(grpc_message(BATCH)[:-4], [1, 2, 3, 4, 5, 6, 7]),
    }
    for name, data in deframer.items():
        write("deframer", name, data)

    for number, value in enumerate([b"1S", b"100m", b"99999999H", b"5u", b"0n", b"12M", b"30S ", b"x", b"123456789S", b"-1S"]):
        write("grpc-timeout", f"value-{number:02d}", value)


# MARK: relay configuration

RELAY_CONFIGS = [
    b'''{"providers": [{"name": "openai", "dialect": "openai-chat", "api_key_env": "OPENAI_API_KEY",
  "headers": {"OpenAI-Organization": "org"}, "forward_metadata": ["x-trace-*"],
  "models": ["gpt-4o-mini"], "connect_timeout_ms": 500, "stall_timeout_ms": 30000,
  "first_heartbeat_ms": 250, "heartbeat_interval_ms": 2000, "max_attempts": 4,
  "initial_backoff_ms": 100, "max_backoff_ms": 1000, "http1_only": true},
 {"name": "claude", "dialect": "anthropic", "api_key_file": "/run/secrets/anthropic", "models": ["haiku"]}],
 "aliases": {"fast": "openai/gpt-4o-mini"},
 "fallbacks": {"fast": ["claude/haiku"]}}''',
    b'{"providers": [{"name": "a", "dialect": "tgi", "base_url": "http://x", "models": ["m"], "api_key": "sk"}]}',
    b'{"providers": [{"name": "a", "dialect": "palm", "models": ["m"]}]}',
    b'{"providers": [{"name": "a", "dialect": "ollama", "models": ["m"]}], "aliases": {"x": "a/nope"}}',
    b'{"providers": [{"name": "a", "dialect": "ollama", "models": ["m"]}], "fallbacks": {"a/m": ["b/m"]}}',
    b'{"providers": [{"name": "g", "dialect": "gemini", "models": ["flash"], "tls_ca_file": "/ca.pem",'
    b' "max_http1_connections": 8, "stall_timeout_ms": 1e300}]}',
    b'{"providers": [{"name": "c", "dialect": "cohere", "base_url": "ftp://x", "models": ["m"]}]}',
    b'{"providers": []}', b'[]', b'{}', b'null',
]


def relay_targets():
    for number, config in enumerate(RELAY_CONFIGS):
        write("relay-config", f"config-{number:02d}", config)


# MARK: HTTP/2 server



def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", key, value) for key, value in pairs))


def request_headers(path, timeout=None, extra=()):
    headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    if timeout:
        headers.append(("grpc-timeout", timeout))
    headers.extend(extra)
    return headers


def call(encoder, stream, path, body, timeout=None, extra=(), end=True):
    block = encoder.encode(request_headers(path, timeout, extra))
    frames = frame(HEADERS, END_HEADERS, stream, block)
    frames += frame(DATA, END_STREAM if end else 0, stream, grpc_message(body))
    return frames


def http2_targets():
    client_settings = settings((0x2, 0), (0x4, 65535))  # no push, 64 KiB window
    settings_ack = frame(SETTINGS, ACK, 0)
    generate = "/tokenwire.v1.TokenStream/Generate"

    sequences = {}
    encoder = hpack.Encoder()
    sequences["generate"] = client_settings + settings_ack + call(encoder, 1, generate, generate_request(max_tokens=3))

    encoder = hpack.Encoder()
    sequences["generate-complete-health"] = (
        client_settings + settings_ack
        + call(encoder, 1, generate, generate_request(max_tokens=2), timeout="100m")
        + call(encoder, 3, "/tokenwire.v1.TokenStream/Complete", GENERATE_FULL)
        + call(encoder, 5, "/grpc.health.v1.Health/Check", HEALTH)
        + call(encoder, 7, "/grpc.health.v1.Health/Watch", b""))

    encoder = hpack.Encoder()
    sequences["batch"] = client_settings + settings_ack + call(encoder, 1, "/tokenwire.v1.TokenStream/GenerateBatch", BATCH)

    encoder = hpack.Encoder()
    sequences["reset-and-ping"] = (
        client_settings + settings_ack
        + call(encoder, 1, generate, generate_request(max_tokens=30), end=False)
        + frame(RST_STREAM, 0, 1, struct.pack(">I", 8))
        + frame(PING, 0, 0, b"12345678") + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 20))
        + frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))

    encoder = hpack.Encoder()
    sequences["bad-requests"] = (
        client_settings + settings_ack
        + call(encoder, 1, "/tokenwire.v1.TokenStream/Nope", GENERATE)
        + call(encoder, 3, generate, b"\xff\xff\xff")
        + call(encoder, 5, generate, GENERATE, timeout="bogus")
        + call(encoder, 7, generate, GENERATE, extra=(("grpc-encoding", "gzip"),))
        + frame(HEADERS, END_HEADERS | END_STREAM, 9, encoder.encode([(":method", "GET"), (":path", "/")]))
        + call(encoder, 11, generate, generate_request(model=b"synthetic/fail")))

    # A header block split over HEADERS and CONTINUATION, and a message split over DATA frames.
    encoder = hpack.Encoder()
    block = encoder.encode(request_headers(generate))
    body = grpc_message(generate_request(max_tokens=1))
    sequences["continuation-split-data"] = (
        client_settings + settings_ack
        + frame(HEADERS, 0, 1, block[:10]) + frame(CONTINUATION, END_HEADERS, 1, block[10:])
        + frame(DATA, 0, 1, body[:3]) + frame(DATA, 0, 1, body[3:9]) + frame(DATA, END_STREAM, 1, body[9:]))

    for name, data in sequences.items():
        for reads in (0, 3):
            write("http2-server", f"{name}-{reads + 1}read", bytes([reads]) + data)


# MARK: Redis (RESP2 replies)

def resp_targets():
    """First byte: the limits (0xff: the largest of each), then the chunked header."""
    replies = {
        "simple": b"+OK\r\n",
        "error": b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        "integer": b":-9223372036854775808\r\n",
        "bulk-nul": b"$5\r\na\x00\r\nb\r\n",
        "nulls": b"$-1\r\n*-1\r\n",
        "xrange": b"*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$5\r\nframe\r\n$3\r\nabc\r\n"
                  b"*2\r\n$3\r\n2-0\r\n*2\r\n$5\r\nframe\r\n$0\r\n\r\n",
        "pipelined": b"+OK\r\n:1\r\n:2\r\n$3\r\nfoo\r\n",
        "bad-length": b"$-2\r\n",
        "no-crlf-after-bulk": b"$1\r\nab\r\n",
    }
    for name, data in replies.items():
        write("resp", name, bytes([0xFF]) + chunked(data, [1, 5]))
    write("resp", "tight-limits", bytes([0x00]) + chunked(replies["xrange"]))


def main():
    text_targets()
    grpc_targets()
    relay_targets()
    http2_targets()
    resp_targets()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    count = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"make-corpus: {count} files, {total} bytes in {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
