#!/usr/bin/env python3
"""Replays the 13 attacks of issue 8 ("Hardening") against a release `tokenwire serve` and
measures what the server holds while it is attacked.

Usage:
  python3 tools/attack/attack.py --binary .build/release/tokenwire [--rows 1,3,9] [--json OUT.json]

For each row a fresh server is started on 127.0.0.1 (port 0; the port is read from its
"listening" log line). Its RSS is read from /proc/PID/status (VmRSS) before the attack,
every 100 ms during it, and 3 s after the attack's connections are closed; VmHWM is reset
(`echo 5 > /proc/PID/clear_refs`) before each attack so it is that attack's peak. After
each attack a good call (Generate synthetic/flood, 3 tokens; for the relay rows also a
relayed call of 3 tokens) on a fresh connection says whether the server still serves.

The relay rows (6, 7, 8, 13) start the fake provider (tools/fake_provider) and serve with
`--config` of a providers file: provider `fake` (openai-chat, default max_event_bytes) and
`big` (max_event_bytes 64 MiB, where the binary knows the key), both with
forward_metadata ["x-fake-*"] (so `x-fake-*` request metadata picks the fault),
max_attempts 1 and stall_timeout_ms 5000 (a stalled upstream ends the call in 5 s).

Flags that only the hardened server has (--preface-timeout, --idle-timeout, ...) and the
max_event_bytes key are used only when `tokenwire serve --help` lists --max-connections.

HTTP/2 is built by hand (frames, HPACK literals without indexing on our side); the server's
header blocks are decoded with the `hpack` package. Every target is 127.0.0.1, every loop
is bounded in count and time; each row takes at most about 2 minutes.

Prints one line per row and then a Markdown table: row, attack, what the attacker got,
RSS at start, peak RSS during (max of the 100 ms samples and VmHWM), RSS after, and
whether the server still serves.
"""
import argparse
import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from hpack import Decoder

REPO = Path(__file__).resolve().parents[2]
FAKE_PROVIDER = REPO / "tools" / "fake_provider" / "fake_provider.py"

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GENERATE = "/tokenwire.v1.TokenStream/Generate"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
MIB = 1 << 20
GRPC_DEFAULT_MAX_RECEIVE = 4 * MIB  # grpcio's default receive limit
STATUS_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION", 10: "ABORTED",
    11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}
H2_ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 5: "STREAM_CLOSED",
             6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
             11: "ENHANCE_YOUR_CALM"}


def log(text):
    print(text, file=sys.stderr, flush=True)


# ---- encoding ---------------------------------------------------------------------------

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


def literal(name, value):
    """A literal header field without indexing, new name: our side never touches the table."""
    return b"\x00" + hpack_string(name) + hpack_string(value)


def literal_indexed(name, value):
    """A literal with incremental indexing: the field enters the server's dynamic table."""
    return b"\x40" + hpack_string(name) + hpack_string(value)


def request_block(path=GENERATE, extra=()):
    fields = [(b":method", b"POST"), (b":scheme", b"http"), (b":path", path.encode() if isinstance(path, str) else path),
              (b":authority", b"127.0.0.1"), (b"content-type", b"application/grpc"), (b"te", b"trailers")]
    fields += list(extra)
    return b"".join(literal(n, v) for n, v in fields)


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_bytes(number, raw):
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def generate_request(model, messages=(), max_tokens=3, metadata=None):
    out = pb_bytes(1, model.encode())
    for role, content in messages:
        out += pb_bytes(2, pb_bytes(1, role.encode()) + pb_bytes(2, content.encode()))
    if max_tokens:
        out += varint(3 << 3) + varint(max_tokens)
    for key, value in (metadata or {}).items():
        out += pb_bytes(7, pb_bytes(1, key.encode()) + pb_bytes(2, value.encode()))
    return out


def grpc_frame(message, declared=None):
    return b"\x00" + (len(message) if declared is None else declared).to_bytes(4, "big") + message


def read_varint(buf, pos):
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def token_frame_texts(message):
    """The `text` fields (4) of one TokenFrame, as bytes."""
    texts, pos = [], 0
    while pos < len(message):
        key, pos = read_varint(message, pos)
        wire = key & 7
        if wire == 0:
            _, pos = read_varint(message, pos)
        elif wire == 2:
            size, pos = read_varint(message, pos)
            if key >> 3 == 4:
                texts.append(bytes(message[pos:pos + size]))
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            break
    return texts


# ---- HTTP/2 client ----------------------------------------------------------------------

class Stream:
    def __init__(self, stream_id, keep_text):
        self.id = stream_id
        self.headers = {}
        self.status = None
        self.message = None
        self.reset = None
        self.ended = False
        self.data_bytes = 0
        self.messages = 0
        self.max_message = 0
        self.text_frames = 0
        self.text_bytes = 0
        self.text = bytearray() if keep_text else None
        self.buffer = bytearray()
        self.sent = 0

    def feed(self, payload):
        self.data_bytes += len(payload)
        self.buffer += payload
        while len(self.buffer) >= 5:
            size = int.from_bytes(self.buffer[1:5], "big")
            if len(self.buffer) < 5 + size:
                return
            message = bytes(self.buffer[5:5 + size])
            del self.buffer[:5 + size]
            self.messages += 1
            self.max_message = max(self.max_message, size)
            for text in token_frame_texts(message):
                self.text_frames += 1
                self.text_bytes += len(text)
                if self.text is not None and len(self.text) < MIB:
                    self.text += text

    def outcome(self):
        if self.status is not None:
            name = STATUS_NAMES.get(self.status, str(self.status))
            return name if not self.message else f"{name} \"{short(self.message)}\""
        if self.reset is not None:
            return f"RST_STREAM {H2_ERRORS.get(self.reset, self.reset)}"
        return "no answer"


def short(text, limit=160):
    text = text.replace("\0", "\\0")
    return text if len(text) <= limit else text[:limit] + f"…({len(text)} chars)"


class H2:
    """One client connection: frames by hand, flow control respected, PINGs and SETTINGS acknowledged."""

    def __init__(self, port, timeout=10, keep_text=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.keep_text = keep_text
        self.decoder = Decoder()
        self.decoder.max_allowed_table_size = 65536
        self.decoder.max_header_list_size = 1 << 30
        self.inbuf = bytearray()
        self.streams = {}
        self.next_id = 1
        self.peer_initial_window = 65535
        self.peer_max_frame = 16384
        self.conn_window = 65535
        self.stream_windows = {}
        self.goaways = []
        self.closed = False
        self.close_reason = None
        self.settings_received = False
        self.block = None  # (stream id, bytes, end_stream)
        self.unacknowledged = 0
        self.send(PREFACE + frame(SETTINGS, 0, 0, (4).to_bytes(2, "big") + (0x7FFFFFFF).to_bytes(4, "big"))
                  + frame(WINDOW_UPDATE, 0, 0, (0x7FFFFFFF - 65535).to_bytes(4, "big")))
        deadline = time.monotonic() + timeout
        while not self.settings_received and not self.closed and time.monotonic() < deadline:
            self.pump(0.05)

    # -- io
    def send(self, data):
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
            return True
        except socket.timeout:
            self._closed("send timed out (the server stopped reading)")
        except OSError as error:
            self._closed(f"send failed: {error.strerror or error}")
        return False

    def _closed(self, reason):
        if not self.closed:
            self.closed = True
            self.close_reason = reason

    def pump(self, timeout=0.0):
        """Reads whatever has arrived (waiting up to `timeout` for the first byte) and handles it."""
        if self.closed:
            return False
        if not readable_within([self.sock], timeout):
            return not self.closed
        for _ in range(64):
            try:
                data = self.sock.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except ConnectionResetError:
                self._closed("connection reset by the server")
                break
            except OSError as error:
                self._closed(f"recv failed: {error}")
                break
            if not data:
                self._closed("connection closed by the server")
                break
            self.inbuf += data
            if len(data) < (1 << 20):
                break
        self._parse()
        return not self.closed

    def _parse(self):
        buf = self.inbuf
        pos = 0
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if len(buf) - pos < 9 + length:
                break
            kind, flags = buf[pos + 3], buf[pos + 4]
            stream_id = int.from_bytes(buf[pos + 5:pos + 9], "big") & 0x7FFFFFFF
            payload = bytes(buf[pos + 9:pos + 9 + length])
            pos += 9 + length
            self._handle(kind, flags, stream_id, payload)
        del buf[:pos]

    def stream(self, stream_id):
        if stream_id not in self.streams:
            self.streams[stream_id] = Stream(stream_id, self.keep_text)
        return self.streams[stream_id]

    def _handle(self, kind, flags, stream_id, payload):
        if kind == DATA:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            st = self.stream(stream_id)
            st.feed(payload)
            self.unacknowledged += len(payload) + 9
            if self.unacknowledged > 64 * MIB:
                self.send(frame(WINDOW_UPDATE, 0, 0, self.unacknowledged.to_bytes(4, "big")))
                self.unacknowledged = 0
            if flags & END_STREAM:
                st.ended = True
        elif kind == HEADERS:
            if flags & PADDED:
                payload = payload[1:len(payload) - payload[0]]
            if flags & PRIORITY_FLAG:
                payload = payload[5:]
            self.block = (stream_id, payload, bool(flags & END_STREAM))
            if flags & END_HEADERS:
                self._block_done()
        elif kind == CONTINUATION and self.block:
            sid, block, end = self.block
            self.block = (sid, block + payload, end)
            if flags & END_HEADERS:
                self._block_done()
        elif kind == RST_STREAM:
            st = self.stream(stream_id)
            st.reset = int.from_bytes(payload[:4], "big")
            st.ended = True
        elif kind == SETTINGS:
            if not flags & ACK:
                for i in range(0, len(payload) - 5, 6):
                    ident, value = int.from_bytes(payload[i:i + 2], "big"), int.from_bytes(payload[i + 2:i + 6], "big")
                    if ident == 4:
                        delta = value - self.peer_initial_window
                        self.peer_initial_window = value
                        for sid in self.stream_windows:
                            self.stream_windows[sid] += delta
                    elif ident == 5:
                        self.peer_max_frame = value
                self.settings_received = True
                self.send(frame(SETTINGS, ACK, 0))
        elif kind == PING:
            if not flags & ACK:
                self.send(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            self.goaways.append((int.from_bytes(payload[4:8], "big"), payload[8:].decode("utf-8", "replace")))
        elif kind == WINDOW_UPDATE:
            increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if stream_id == 0:
                self.conn_window += increment
            else:
                self.stream_windows[stream_id] = self.stream_windows.get(stream_id, self.peer_initial_window) + increment

    def _block_done(self):
        sid, block, end = self.block
        self.block = None
        st = self.stream(sid)
        try:
            fields = self.decoder.decode(block, raw=True)
        except Exception as error:  # noqa: BLE001 - record whatever hpack says
            st.headers["hpack-error"] = str(error)
            fields = []
        for name, value in fields:
            name, value = name.decode("latin-1"), value.decode("utf-8", "replace")
            st.headers[name] = value
            if name == "grpc-status":
                st.status = int(value)
            elif name == "grpc-message":
                st.message = urllib.parse.unquote(value)
        if end:
            st.ended = True

    # -- requests
    def open(self, path=GENERATE, extra=(), block=None, end_stream=False):
        sid = self.next_id
        self.next_id += 2
        self.stream(sid)
        self.stream_windows[sid] = self.peer_initial_window
        block = request_block(path, extra) if block is None else block
        size = self.peer_max_frame
        chunks = [block[i:i + size] for i in range(0, len(block), size)] or [b""]
        out = bytearray()
        for position, chunk in enumerate(chunks):
            last = END_HEADERS if position == len(chunks) - 1 else 0
            if position == 0:
                out += frame(HEADERS, last | (END_STREAM if end_stream else 0), sid, chunk)
            else:
                out += frame(CONTINUATION, last, sid, chunk)
        self.send(bytes(out))
        return sid

    def send_data(self, sid, data, end_stream=True, deadline=None, stall=10.0):
        """Sends `data` on `sid` as the windows allow; stops early if the stream ends, the
        connection closes, the deadline passes or no window is granted for `stall` seconds."""
        view = memoryview(data)
        st = self.streams[sid]
        position = 0
        last_progress = time.monotonic()
        while position < len(view) and not st.ended and not self.closed:
            now = time.monotonic()
            if deadline is not None and now > deadline:
                return "deadline"
            allowed = min(self.conn_window, self.stream_windows[sid], len(view) - position, MIB)
            if allowed <= 0:
                if now - last_progress > stall:
                    return "no window"
                self.pump(0.02)
                continue
            parts = []
            end = position + allowed
            while position < end:
                piece = min(self.peer_max_frame, end - position)
                last = end_stream and position + piece == len(view)
                parts.append(piece.to_bytes(3, "big") + bytes([DATA, END_STREAM if last else 0]) + sid.to_bytes(4, "big"))
                parts.append(view[position:position + piece])
                position += piece
            if not self.send(b"".join(parts)):
                break
            self.conn_window -= allowed
            self.stream_windows[sid] -= allowed
            st.sent += allowed
            last_progress = time.monotonic()
            self.pump(0)
        if end_stream and len(view) == 0 and not st.ended:
            self.send(frame(DATA, END_STREAM, sid))
        return "sent" if position >= len(view) else ("stream ended" if st.ended else "closed")

    def call(self, body, path=GENERATE, extra=(), wait=10.0):
        sid = self.open(path, extra)
        deadline = time.monotonic() + wait
        self.send_data(sid, body, end_stream=True, deadline=deadline)
        self.wait([sid], deadline)
        return self.streams[sid]

    def wait(self, sids, deadline):
        while not self.closed and time.monotonic() < deadline:
            if all(self.streams[s].ended for s in sids):
                return True
            self.pump(0.05)
        return all(self.streams[s].ended for s in sids)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


def readable_within(socks, timeout):
    """The sockets of `socks` that are readable (or closed) within `timeout` seconds; poll(2),
    so descriptors past 1,024 work."""
    poller = select.poll()
    by_fd = {}
    for sock in socks:
        try:
            poller.register(sock, select.POLLIN)
            by_fd[sock.fileno()] = sock
        except (OSError, ValueError):
            continue
    return [by_fd[fd] for fd, _ in poller.poll(max(0, timeout) * 1000) if fd in by_fd]


def wait_all(conns, done, deadline):
    """Pumps every connection until `done()` or the deadline."""
    while time.monotonic() < deadline and not done():
        live = [c for c in conns if not c.closed]
        if not live:
            return
        readable = readable_within([c.sock for c in live], 0.05)
        for c in live:
            if c.sock in readable:
                c.pump(0)


# ---- the server and its measurements ----------------------------------------------------

def kb_field(pid, name):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


class Sampler(threading.Thread):
    """VmRSS every 100 ms."""

    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        start = time.monotonic()
        while not self.stopping.is_set():
            rss = kb_field(self.pid, "VmRSS")
            if rss is not None:
                self.samples.append((time.monotonic() - start, rss))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(2)
        return max((rss for _, rss in self.samples), default=0)


class Server:
    def __init__(self, binary, args=(), nofile=None):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="tokenwire-attack-", suffix=".log", delete=False)

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        command = [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--drain-timeout", "1", *args]
        self.command = command
        self.process = subprocess.Popen(command, stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                        preexec_fn=limit)
        self.pid = self.process.pid
        self.port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = Path(self.log.name).read_text(errors="replace")
            found = re.search(r"address=[0-9.]+:(\d+)", text)
            if found:
                self.port = int(found.group(1))
                break
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start: {text[-2000:]}")
            time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("the server did not log its address within 30 s")
        time.sleep(0.3)

    def alive(self):
        return self.process.poll() is None

    def rss(self):
        return kb_field(self.pid, "VmRSS")

    def hwm(self):
        return kb_field(self.pid, "VmHWM")

    def reset_hwm(self):
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            pass

    def log_text(self):
        return Path(self.log.name).read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


class FakeProvider:
    def __init__(self):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="tokenwire-attack-fake-", suffix=".log", delete=False)
        self.process = subprocess.Popen([sys.executable, str(FAKE_PROVIDER), "--port", "0"], stdout=self.log,
                                        stderr=self.log, stdin=subprocess.DEVNULL, cwd=str(REPO))
        self.port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"listening [0-9.]+:(\d+)", Path(self.log.name).read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the fake provider did not start")

    def request(self, request_id, wait_ms=3000):
        url = f"http://127.0.0.1:{self.port}/_fake/requests/{urllib.parse.quote(request_id)}?wait_ms={wait_ms}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


FLOOD_BODY = grpc_frame(generate_request("synthetic/flood", max_tokens=3))
GRPC_TIMEOUT = [(b"grpc-timeout", b"60S")]


def good_call(port):
    try:
        c = H2(port, timeout=5)
        st = c.call(FLOOD_BODY, wait=5)
        c.close()
        return st.status == 0 and st.text_frames > 0
    except OSError:
        return False


def good_relay_call(port):
    try:
        c = H2(port, timeout=5, keep_text=True)
        body = grpc_frame(generate_request("fake/m", max_tokens=3, metadata={"x-fake-tokens": "3"}))
        st = c.call(body, extra=GRPC_TIMEOUT, wait=15)
        c.close()
        return st.status == 0 and bytes(st.text) == b"tok1 tok2 tok3 "
    except OSError:
        return False


def mb(kb):
    return "—" if kb is None else f"{kb / 1024:.0f} MB"


class Harness:
    def __init__(self, binary):
        self.binary = binary
        help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
        self.hardened = "--max-connections" in help_text
        self.fake = None
        self.config_path = None
        self.results = []

    def relay_config(self):
        if self.config_path:
            return self.config_path
        self.fake = FakeProvider()
        base = f"http://127.0.0.1:{self.fake.port}/v1"

        def provider(name, max_event_bytes=None):
            entry = {"name": name, "dialect": "openai-chat", "base_url": base, "models": ["m"],
                     "forward_metadata": ["x-fake-*"], "max_attempts": 1, "stall_timeout_ms": 5000}
            if max_event_bytes and self.hardened:
                entry["max_event_bytes"] = max_event_bytes
            return entry
        config = {"providers": [provider("fake"), provider("big", 64 * MIB)]}
        handle = tempfile.NamedTemporaryFile("w", prefix="tokenwire-attack-providers-", suffix=".json", delete=False)
        json.dump(config, handle)
        handle.close()
        self.config_path = handle.name
        return self.config_path

    def server(self, args=(), relay=False, nofile=None):
        args = list(args)
        if relay:
            args += ["--config", self.relay_config()]
        return Server(self.binary, args, nofile=nofile)

    def measure(self, row, attack, server, body, relay=False, settle=3.0):
        """Runs `body()` (which returns what the attacker saw, and closes its connections)
        with RSS sampled, then reads RSS after `settle` seconds and makes a good call."""
        start_rss = server.rss()
        server.reset_hwm()
        ticks = cpu_ticks(server.pid)
        began = time.monotonic()
        sampler = Sampler(server.pid)
        sampler.start()
        try:
            got = body()
        except Exception as error:  # noqa: BLE001 - a harness failure is a result too
            got = f"harness error: {type(error).__name__}: {error}"
        seconds = time.monotonic() - began
        sampled_peak = sampler.stop()
        hwm = server.hwm()
        used = cpu_ticks(server.pid)
        cpu = None if ticks is None or used is None else 100.0 * (used - ticks) / os.sysconf("SC_CLK_TCK") / seconds
        time.sleep(settle)
        after = server.rss()
        alive = server.alive()
        serves = alive and good_call(server.port)
        if relay and serves:
            serves = good_relay_call(server.port)
        result = {
            "row": row, "attack": attack, "got": got, "rss_start_kb": start_rss,
            "rss_peak_kb": max(sampled_peak, hwm or 0), "rss_peak_sampled_kb": sampled_peak, "vmhwm_kb": hwm,
            "rss_after_kb": after, "serves": bool(serves), "alive": alive, "seconds": round(seconds, 1),
            "cpu_percent": None if cpu is None else round(cpu, 1),
            "samples": sampler.samples[::max(1, len(sampler.samples) // 200)],
        }
        self.results.append(result)
        print(f"row {row}: {attack} → {got} | RSS start {mb(start_rss)}, peak {mb(result['rss_peak_kb'])}, "
              f"after {mb(after)} | serves: {'yes' if serves else 'NO'}{'' if alive else ' (server exited)'} "
              f"| {seconds:.0f} s", flush=True)
        return result

    def stop(self):
        if self.fake:
            self.fake.stop()
        if self.config_path:
            try:
                os.unlink(self.config_path)
            except OSError:
                pass


# ---- the rows -----------------------------------------------------------------------------

def describe(streams):
    """Counts the outcomes of many streams, grouped with their numbers blanked: 'N× OUTCOME'
    (one example message per group)."""
    groups = {}
    for st in streams:
        text = st.outcome()
        key = re.sub(r"\d+", "#", text)
        count, example = groups.get(key, (0, text))
        groups[key] = (count + 1, example)
    return "; ".join(f"{n}× {example}" for n, example in sorted(groups.values(), key=lambda ne: -ne[0]))


def connection_notes(conns):
    goaways = sum(len(c.goaways) for c in conns)
    closed = sum(1 for c in conns if c.closed)
    notes = []
    if goaways:
        codes = sorted({H2_ERRORS.get(code, str(code)) for c in conns for code, _ in c.goaways})
        notes.append(f"{goaways} GOAWAY ({', '.join(codes)})")
    if closed:
        reasons = sorted({c.close_reason or "closed" for c in conns if c.closed})
        notes.append(f"{closed} connection(s) closed: {'; '.join(reasons)}")
    return notes


def row1(h):
    """8 connections × 2 blocks: a 4,000-byte field indexed once, then ~143,000 one-byte references."""
    server = h.server()
    refs = 143_000

    def attack():
        conns = [H2(server.port, timeout=10) for _ in range(8)]
        wire = 0
        for c in conns:
            for _ in range(2):
                block = request_block() + literal_indexed(b"x-big", b"v" * 4000) + bytes([0x80 | 62]) * refs
                wire = len(block)
                sid = c.open(block=block)
                c.send_data(sid, FLOOD_BODY, end_stream=True, deadline=time.monotonic() + 20)
        sids = [(c, s) for c in conns for s in c.streams]
        wait_all(conns, lambda: all(c.streams[s].ended or c.closed for c, s in sids), time.monotonic() + 90)
        streams = [c.streams[s] for c, s in sids]
        text = f"{len(streams)} blocks of {wire // 1000} KB (≈{refs * 4037 // 1_000_000} MB decoded each): " \
               + describe(streams)
        notes = connection_notes(conns)
        for c in conns:
            c.close()
        return "; ".join([text] + notes)
    h.measure(1, "8 conns × 2 HPACK-amplified blocks (4 KB field, 143k 1-byte refs, HEADERS + 8 CONTINUATION)", server, attack)
    server.stop()


def row2(h):
    server = h.server()

    def attack():
        c = H2(server.port)
        st = c.call(FLOOD_BODY, extra=[(b"x-huge", b"h" * 60 * 1024)], wait=15)
        notes = connection_notes([c])
        c.close()
        return "; ".join([st.outcome()] + notes)
    h.measure(2, "a 60 KB header value (SETTINGS_MAX_HEADER_LIST_SIZE 16 KiB advertised)", server, attack)
    server.stop()


def row3(h):
    """1 connection, 1,000 streams, each a 4 MiB length prefix and 4 MiB − 1 bytes, never ended."""
    server = h.server()
    declared = 4 * MIB
    body = grpc_frame(b"", declared=declared) + b"A" * (declared - 1)

    def attack():
        c = H2(server.port, timeout=30)
        began = time.monotonic()
        deadline = began + 75
        stops = {}
        sids = []
        for _ in range(1000):
            if c.closed or time.monotonic() > deadline:
                break
            sid = c.open()
            sids.append(sid)
            why = c.send_data(sid, body, end_stream=False, deadline=deadline, stall=5)
            stops[why] = stops.get(why, 0) + 1
            if why == "no window":
                break
        sent_seconds = time.monotonic() - began
        sent = sum(c.streams[s].sent for s in sids)
        whole = sum(1 for s in sids if c.streams[s].sent == len(body))
        rss_held = server.rss()
        # The server's answers: refusals at once, timeouts after --request-timeout (10 s).
        c.wait(sids, time.monotonic() + 20)
        streams = [c.streams[s] for s in sids]
        text = (f"{len(sids)} streams opened, {whole} sent whole, {sent / MIB:.0f} MiB accepted by the windows in "
                f"{sent_seconds:.0f} s (RSS {mb(rss_held)} then); answers within 20 s: {describe(streams)}")
        notes = connection_notes([c])
        c.close()
        return "; ".join([text] + notes)
    h.measure(3, "1 conn, 1,000 streams × (4 MiB prefix + 4 MiB − 1 bytes), never ended", server, attack)
    server.stop()


def row4(h):
    server = h.server()
    body = grpc_frame(generate_request("m" * 70_000, max_tokens=3))

    def one():
        c = H2(server.port)
        st = c.call(body, wait=10)
        size = len(st.headers.get("grpc-message", ""))
        notes = connection_notes([c])
        c.close()
        return "; ".join([st.outcome() + (f" (grpc-message {size} bytes on the wire)" if size else "")] + notes)
    h.measure("4a", "unknown model name of 70,000 bytes, one call (wait 10 s)", server, one)

    def many():
        c = H2(server.port, timeout=30)
        deadline = time.monotonic() + 60
        sids = []
        for _ in range(1100):
            if c.closed or time.monotonic() > deadline:
                break
            sid = c.open()
            sids.append(sid)
            c.send_data(sid, body, end_stream=True, deadline=deadline)
            c.pump(0)
        c.wait(sids, min(deadline, time.monotonic() + 15))
        streams = [c.streams[s] for s in sids]
        text = f"{len(sids)} calls on one connection: {describe(streams)}"
        notes = connection_notes([c])
        c.close()
        return "; ".join([text] + notes)
    h.measure("4b", "1,100 such calls on one connection", server, many)
    server.stop()


def row5(h):
    server = h.server()

    def path_call(count):
        def attack():
            c = H2(server.port)
            path = "/tokenwire.v1.TokenStream/" + "é" * count
            st = c.call(FLOOD_BODY, path=path, wait=10)
            notes = connection_notes([c])
            c.close()
            return "; ".join([st.outcome()] + notes)
        return attack
    h.measure("5a", "unknown method, 30 KB non-ASCII path (15,000 × é)", server, path_call(15_000))
    h.measure("5b", "unknown method, 10 KB non-ASCII path (5,000 × é)", server, path_call(5_000))
    server.stop()


def row6(h):
    server = h.server(relay=True)

    def prompt():
        request_id = f"nul-prompt-{os.getpid()}-{time.monotonic_ns()}"
        c = H2(server.port)
        body = grpc_frame(generate_request("fake/m", messages=[("user", "before\0after")], max_tokens=2,
                                           metadata={"x-fake-tokens": "2", "x-fake-request-id": request_id}))
        st = c.call(body, extra=GRPC_TIMEOUT, wait=20)
        c.close()
        try:
            entry = h.fake.request(request_id)
            upstream = entry.get("body") or ""
            if "before\\u0000after" in upstream:
                seen = "the provider got the prompt whole (before\\u0000after)"
            elif '"before"' in upstream:
                seen = "the provider got the prompt cut at the NUL (\"before\")"
            else:
                seen = f"the provider got: {short(upstream, 120)}"
        except Exception as error:  # noqa: BLE001
            seen = f"no provider request logged ({error})"
        return f"call {st.outcome()}; {seen}"
    h.measure("6a", "a NUL in the prompt (\"before\\0after\"), relayed", server, prompt, relay=True)

    def token():
        c = H2(server.port, keep_text=True)
        body = grpc_frame(generate_request("fake/m", max_tokens=3,
                                           metadata={"x-fake-tokens": "3", "x-fake-fault": "nul-token"}))
        st = c.call(body, extra=GRPC_TIMEOUT, wait=20)
        c.close()
        text = bytes(st.text or b"")
        whole = text == b"tok1\0x tok2\0x tok3\0x "
        return f"call {st.outcome()}; text {text!r} ({'whole' if whole else 'CUT at the NUL' if text == b'tok1tok2tok3' else 'differs'})"
    h.measure("6b", "a NUL inside each upstream token (nul-token)", server, token, relay=True)
    server.stop()


def relay_call(port, model, metadata, wait=75):
    c = H2(port, timeout=10)
    body = grpc_frame(generate_request(model, max_tokens=3, metadata=metadata))
    st = c.call(body, extra=GRPC_TIMEOUT, wait=wait)
    notes = connection_notes([c])
    c.close()
    return st, notes


def row7(h):
    server = h.server(relay=True)
    for name, fault, what in (("7a", "huge-line:100000000", "upstream sends 100 MB without a newline"),
                              ("7b", "many-data-lines:50000000", "upstream sends 50 MB of data: lines in one event")):
        def attack(fault=fault):
            st, notes = relay_call(server.port, "fake/m", {"x-fake-fault": fault})
            return "; ".join([st.outcome()] + notes)
        h.measure(name, what, server, attack, relay=True)
    server.stop()


def row8(h):
    server = h.server(relay=True)
    size = 50_000_000

    def attack(model):
        def run():
            c = H2(server.port, timeout=10)
            body = grpc_frame(generate_request(model, max_tokens=3,
                                               metadata={"x-fake-tokens": "3", "x-fake-fault": f"huge-event:{size}"}))
            st = c.call(body, extra=GRPC_TIMEOUT, wait=90)
            notes = connection_notes([c])
            c.close()
            over = " — over grpcio's default 4 MiB receive limit" if st.max_message > GRPC_DEFAULT_MAX_RECEIVE else ""
            return "; ".join([f"{st.outcome()}: {st.text_frames} text frames, {st.text_bytes:,} text bytes, "
                              f"largest message {st.max_message:,} bytes{over}"] + notes)
        return run
    big = "max_event_bytes 64 MiB" if h.hardened else "no max_event_bytes key in this build"
    h.measure("8a", f"upstream sends one 50 MB event ({big})", server, attack("big/m"), relay=True)
    h.measure("8b", "upstream sends one 50 MB event (default max_event_bytes)", server, attack("fake/m"), relay=True)
    server.stop()


def row13(h):
    server = h.server(relay=True)
    big = "max_event_bytes 64 MiB" if h.hardened else "no max_event_bytes key in this build"
    for name, model, fault, what in (
            ("13a", "fake/m", "gzip", "gzip-encoded upstream body"),
            ("13b", "big/m", "cut-mid-line-after-bytes:20000000", f"upstream closes mid-line after 20 MB ({big})"),
            ("13c", "fake/m", "cut-mid-line-after-bytes:20000000",
             "upstream closes mid-line after 20 MB (default max_event_bytes)")):
        def attack(fault=fault, model=model):
            st, notes = relay_call(server.port, model, {"x-fake-tokens": "3", "x-fake-fault": fault})
            return "; ".join([st.outcome()] + notes)
        h.measure(name, what, server, attack, relay=True)
    server.stop()


def raw_connect(port, count, deadline):
    """Non-blocking connects to 127.0.0.1:port; returns the sockets that connected."""
    pending, connected = [], []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        s = socket.socket()
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect_ex(("127.0.0.1", port))
        pending.append(s)
        if len(pending) >= 200:
            connected += finish_connects(pending, min(deadline, time.monotonic() + 5))
            pending = []
    connected += finish_connects(pending, min(deadline, time.monotonic() + 5))
    return connected


CONNECTED_AT = {}  # descriptor → when its connect completed


def finish_connects(pending, deadline):
    done, waiting = [], list(pending)
    while waiting and time.monotonic() < deadline:
        poller = select.poll()
        for s in waiting:
            poller.register(s, select.POLLOUT)
        ready = {fd for fd, _ in poller.poll(100)}
        for s in [s for s in waiting if s.fileno() in ready]:
            waiting.remove(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                CONNECTED_AT[s.fileno()] = time.monotonic()
                done.append(s)
            else:
                s.close()
    for s in waiting:
        s.close()
    return done


class Watch:
    """Many raw connections: reads what arrives, notes when each closes, counts GOAWAYs."""

    def __init__(self, socks, kind):
        self.kind = kind
        self.open = {s.fileno(): s for s in socks}
        self.buffers = {s.fileno(): bytearray() for s in socks}
        self.closed_at = {}
        self.acked = set()
        self.goaways = 0
        self.resets = 0
        self.poller = select.epoll()
        for s in socks:
            self.poller.register(s.fileno(), select.EPOLLIN)

    def poll(self, began, timeout, ack_settings=False):
        for fd, _ in self.poller.poll(timeout):
            s = self.open.get(fd)
            if s is None:
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                self.resets += 1
                data = b""
            except OSError:
                data = b""
            if not data:
                self.poller.unregister(fd)
                self.closed_at[fd] = time.monotonic() - CONNECTED_AT.get(fd, began)
                self._count(fd)
                del self.open[fd]
                s.close()
                continue
            if len(self.buffers[fd]) < 4096:
                self.buffers[fd] += data[:4096]
            if ack_settings and fd not in self.acked:
                self.acked.add(fd)
                try:
                    s.send(frame(SETTINGS, ACK, 0))
                except OSError:
                    pass

    def _count(self, fd):
        buf, pos = self.buffers.pop(fd, b""), 0
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if buf[pos + 3] == GOAWAY:
                self.goaways += 1
            pos += 9 + length

    def close_all(self):
        for s in self.open.values():
            s.close()
        self.poller.close()

    def summary(self, total):
        times = sorted(self.closed_at.values())
        text = f"{self.kind}: {len(self.open)}/{total} still open"
        if times:
            text += (f", {len(times)} closed {times[0]:.1f}–{times[-1]:.1f} s after they connected "
                     f"({self.goaways} with a GOAWAY read, {self.resets} reset)")
        return text


def row9(h):
    variants = [("9a", [], "defaults (preface 10 s, idle 300 s)" if h.hardened else "no timeouts in this build")]
    if h.hardened:
        variants.append(("9b", ["--preface-timeout", "2", "--idle-timeout", "5"], "--preface-timeout 2 --idle-timeout 5"))
    for name, args, what in variants:
        server = h.server(args)

        def attack():
            began = time.monotonic()
            idle_socks = raw_connect(server.port, 2000, began + 30)
            for s in idle_socks:
                try:
                    s.send(PREFACE + frame(SETTINGS, 0, 0))
                except OSError:
                    pass
            slow_socks = raw_connect(server.port, 2000, began + 60)
            progress = {s.fileno(): 0 for s in slow_socks}
            idle, slow = Watch(idle_socks, "idle"), Watch(slow_socks, "slowloris")
            start = time.monotonic()
            next_byte = start
            while time.monotonic() - start < 40:
                if time.monotonic() >= next_byte:
                    for fd, s in list(slow.open.items()):
                        if progress[fd] < len(PREFACE):
                            try:
                                s.send(PREFACE[progress[fd]:progress[fd] + 1])
                                progress[fd] += 1
                            except OSError:
                                pass
                    next_byte += 2
                idle.poll(start, 0.05, ack_settings=True)
                slow.poll(start, 0.05)
            serves_meanwhile = good_call(server.port)
            text = (f"after 40 s: {idle.summary(len(idle_socks))}; {slow.summary(len(slow_socks))}; "
                    f"a good call meanwhile: {'served' if serves_meanwhile else 'NOT served'}")
            idle.close_all()
            slow.close_all()
            return text
        h.measure(name, f"2,000 idle + 2,000 slowloris connections (1 preface byte / 2 s), {what}", server, attack)
        server.stop()


def row10(h):
    server = h.server(nofile=256)

    def attack():
        began = time.monotonic()
        socks = raw_connect(server.port, 400, began + 20)
        for s in socks:
            try:
                s.send(PREFACE + frame(SETTINGS, 0, 0))
            except OSError:
                pass
        watch = Watch(socks, "held")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1:
            watch.poll(t0, 0.05, ack_settings=True)
        ticks = cpu_ticks(server.pid)
        t1 = time.monotonic()
        while time.monotonic() - t1 < 5:
            watch.poll(t0, 0.05, ack_settings=True)
        cpu = 100.0 * (cpu_ticks(server.pid) - ticks) / os.sysconf("SC_CLK_TCK") / (time.monotonic() - t1)
        meanwhile = good_call(server.port)
        watch.close_all()
        time.sleep(2)
        afterwards = good_call(server.port)
        log_lines = [line for line in server.log_text().splitlines()
                     if re.search(r"descriptor|EMFILE|ENFILE|accept", line, re.I)]
        return (f"{len(socks)} connected; server CPU {cpu:.0f}% of a core over 5 s with them held; "
                f"a new client meanwhile: {'served' if meanwhile else 'not served (times out)'}; "
                f"after closing them: {'served' if afterwards else 'NOT served'}; "
                f"{len(log_lines)} log line(s) about accept/descriptors")
    h.measure(10, "400 connections to a server under ulimit -n 256", server, attack)
    server.stop()


def row11(h):
    server = h.server()
    payload = generate_request("synthetic/flood", max_tokens=3) + b"\x12\x00" * 2_000_000

    def attack():
        c = H2(server.port, timeout=30)
        st = c.call(grpc_frame(payload), wait=60)
        notes = connection_notes([c])
        c.close()
        return "; ".join([f"{st.outcome()} ({len(payload) / 1e6:.1f} MB request)"] + notes)
    h.measure(11, "a request with 2,000,000 empty messages (4 MB)", server, attack)
    server.stop()


def row12(h):
    server = h.server()

    def attack():
        flood = PREFACE + frame(SETTINGS, 0, 0)
        flood += b"".join(frame(PING, 0, 0, i.to_bytes(8, "big")) for i in range(1000))
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        ended = "still open after 10 s"
        try:
            s.sendall(flood)
        except OSError as error:
            ended = f"send failed: {error}"
        received = bytearray()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data = s.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                ended = "connection reset"
                break
            if not data:
                ended = "connection closed"
                break
            received += data
        s.close()
        counts, codes, pos = {}, set(), 0
        while len(received) - pos >= 9:
            length, kind = int.from_bytes(received[pos:pos + 3], "big"), received[pos + 3]
            counts[kind] = counts.get(kind, 0) + 1
            if kind == GOAWAY:
                codes.add(H2_ERRORS.get(int.from_bytes(received[pos + 13:pos + 17], "big"), "?"))
            pos += 9 + length
        return (f"{counts.get(GOAWAY, 0)} GOAWAY frame(s) ({', '.join(sorted(codes)) or '—'}), "
                f"{counts.get(PING, 0)} PING ACKs, {len(received):,} bytes back; {ended}")
    h.measure(12, "PING flood: preface + 1,000 PINGs in one write, no call", server, attack)
    server.stop()


ROWS = {1: row1, 2: row2, 3: row3, 4: row4, 5: row5, 6: row6, 7: row7, 8: row8, 9: row9, 10: row10,
        11: row11, 12: row12, 13: row13}


def table(results):
    lines = ["| row | attack | what the attacker got | RSS at start | peak RSS during | RSS after | still serves |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        got = str(r["got"]).replace("|", "\\|")
        lines.append(f"| {r['row']} | {r['attack']} | {got} | {mb(r['rss_start_kb'])} | {mb(r['rss_peak_kb'])} | "
                     f"{mb(r['rss_after_kb'])} | {'yes' if r['serves'] else '**no**'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="a release tokenwire binary")
    parser.add_argument("--rows", default=",".join(str(r) for r in ROWS), help="comma-separated rows (default: all)")
    parser.add_argument("--json", help="write every result, RSS samples included, to this file")
    options = parser.parse_args()
    rows = [int(r) for r in options.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}: rows are 1–13")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 16384):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))
    binary = str(Path(options.binary).resolve())
    harness = Harness(binary)
    log(f"attack: {binary} ({'hardened flags present' if harness.hardened else 'no hardening flags'}), rows {rows}")
    began = time.monotonic()
    try:
        for row in rows:
            ROWS[row](harness)
    finally:
        harness.stop()
    print()
    print(table(harness.results))
    log(f"attack: done in {time.monotonic() - began:.0f} s")
    if options.json:
        with open(options.json, "w") as out:
            json.dump({"binary": binary, "hardened": harness.hardened, "results": harness.results}, out, indent=1)


if __name__ == "__main__":
    main()
