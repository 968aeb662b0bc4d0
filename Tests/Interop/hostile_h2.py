#!/usr/bin/env python3
"""HTTP/2 requests no gRPC client would send, for the hostile-peer tests in
Tests/TokenwireIntegrationTests. Frames are built by hand; the server's header blocks are
decoded with the `hpack` package (which `h2` depends on), so what we check is decoded by
code nobody on this project wrote.

Usage: hostile_h2.py ATTACK PORT
  hpack-bomb  one 3,000-byte header field sent once (literal with incremental indexing)
              and then referenced by one-byte indexes 40 times, the block cut into HEADERS
              and 8 CONTINUATION frames: about 3 KB on the wire, 120 KB decoded.
  paced-call  the preface and a whole Generate call for 30 tokens of synthetic/paced in the
              connection's first write (so the server sees the call in its first read),
              then the response, and whether a GOAWAY came while the call ran.

Prints one JSON line: {"attack": RESULT, "after": RESULT}, where "after" is a good call on
the same connection and RESULT is {"headers": {...}, "reset": code or null,
"data_bytes": N, "connection_closed": bool}.
"""
import json
import socket
import sys

from hpack import Decoder, Encoder

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GENERATE = "/tokenwire.v1.TokenStream/Generate"
# GenerateRequest{model: "synthetic/flood", max_tokens: 3}, length-prefixed.
FLOOD = bytes([0x0A, 0x0F]) + b"synthetic/flood" + bytes([0x18, 0x03])
FRAMED_FLOOD = bytes([0, 0, 0, 0, len(FLOOD)]) + FLOOD
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frame(kind, flags, stream_id, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream_id.to_bytes(4, "big") + payload


def hpack_integer(value, prefix_bits, first_byte_flags=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = [first_byte_flags | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def hpack_string(raw):
    return hpack_integer(len(raw), 7) + raw  # not Huffman-coded


def request_headers():
    return [
        (":method", "POST"), (":scheme", "http"), (":path", GENERATE), (":authority", "localhost"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ]


class Connection:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 65536
        self.buffer = b""
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def read_frame(self):
        while len(self.buffer) < 9 or len(self.buffer) < 9 + int.from_bytes(self.buffer[:3], "big"):
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        length = int.from_bytes(self.buffer[:3], "big")
        kind, flags = self.buffer[3], self.buffer[4]
        stream_id = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
        payload = self.buffer[9:9 + length]
        self.buffer = self.buffer[9 + length:]
        return kind, flags, stream_id, payload

    def response(self, stream_id):
        """Reads frames until `stream_id` ends; every header block is decoded in order."""
        result = {"headers": {}, "reset": None, "data_bytes": 0, "connection_closed": False}
        block, block_stream, block_ends = b"", None, False
        while True:
            read = self.read_frame()
            if read is None:
                result["connection_closed"] = True
                return result
            kind, flags, frame_stream, payload = read
            if kind == SETTINGS and not flags & ACK:
                self.sock.sendall(frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                self.sock.sendall(frame(PING, ACK, 0, payload))
            elif kind == GOAWAY:
                result["goaway"] = int.from_bytes(payload[4:8], "big")
            elif kind in (HEADERS, CONTINUATION):
                if kind == HEADERS:
                    block, block_stream, block_ends = payload, frame_stream, bool(flags & END_STREAM)
                else:
                    block += payload
                if flags & END_HEADERS:
                    for name, value in self.decoder.decode(block, raw=True):
                        if block_stream == stream_id:
                            result["headers"][name.decode()] = value.decode()
                    if block_stream == stream_id and block_ends:
                        return result
            elif kind == DATA and frame_stream == stream_id:
                result["data_bytes"] += len(payload)
                if flags & END_STREAM:
                    return result
            elif kind == RST_STREAM and frame_stream == stream_id:
                result["reset"] = int.from_bytes(payload[:4], "big")
                return result


def hpack_bomb(port):
    connection = Connection(port)
    encoder = Encoder()
    block = encoder.encode(request_headers())
    block += b"\x40" + hpack_string(b"x-big") + hpack_string(b"v" * 3000)  # literal, incremental indexing
    block += bytes([0x80 | 62]) * 40  # indexed: the newest dynamic-table entry
    size = (len(block) + 8) // 9
    chunks = [block[i:i + size] for i in range(0, len(block), size)]
    out = frame(HEADERS, 0, 1, chunks[0])
    for position, chunk in enumerate(chunks[1:], start=1):
        out += frame(CONTINUATION, END_HEADERS if position == len(chunks) - 1 else 0, 1, chunk)
    out += frame(DATA, END_STREAM, 1, FRAMED_FLOOD)
    connection.sock.sendall(out)
    attack = connection.response(1)
    attack["continuation_frames"] = len(chunks) - 1
    attack["wire_block_bytes"] = len(block)

    # A good call on the same connection. The encoder's table now holds x-big too (as the
    # server's decoder does), so its output stays in step.
    encoder.encode([("x-big", "v" * 3000)])  # mirror the entry we added by hand
    good = encoder.encode(request_headers())
    connection.sock.sendall(frame(HEADERS, END_HEADERS, 3, good) + frame(DATA, END_STREAM, 3, FRAMED_FLOOD))
    after = connection.response(3)
    print(json.dumps({"attack": attack, "after": after}))


def paced_call(port):
    connection = Connection.__new__(Connection)
    connection.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection.decoder = Decoder()
    connection.buffer = b""
    paced = bytes([0x0A, 0x0F]) + b"synthetic/paced" + bytes([0x18, 30])
    body = bytes([0, 0, 0, 0, len(paced)]) + paced
    block = Encoder().encode(request_headers())
    connection.sock.sendall(
        PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, block) + frame(DATA, END_STREAM, 1, body))
    print(json.dumps({"call": connection.response(1)}))


def main():
    attack, port = sys.argv[1], int(sys.argv[2])
    {"hpack-bomb": hpack_bomb, "paced-call": paced_call}[attack](port)


if __name__ == "__main__":
    main()
