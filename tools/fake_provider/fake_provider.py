#!/usr/bin/env python3
"""Fake LLM provider: a real HTTP/1.1 server on loopback for Tokenwire's upstream tests.

    python3 tools/fake_provider/fake_provider.py --port 0 [--host 127.0.0.1]

Prints `listening HOST:PORT` on stdout once bound, then serves until SIGTERM/SIGINT (exit 0).
Standard library only (asyncio streams). HTTP/1.1 with chunked responses and keep-alive;
h2c (HTTP/2 cleartext) is NOT implemented, nor TLS or HTTP/1.0 close-delimited bodies.

Behaviour is chosen per request by `x-fake-*` headers (replay a recorded fixture byte for
byte, or generate a synthetic stream in the route's dialect, with faults on demand); every
request is logged and the log is served at GET /_fake/requests. See README.md beside this
file for the header table and routes.
"""
import argparse
import asyncio
import collections
import itertools
import json
import os
import re
import signal
import socket
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dialects import DIALECTS, error_body  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO_ROOT, "Tests", "TokenwireUpstreamTests", "Fixtures")

ROUTES = {
    "/v1/chat/completions": "openai-chat",
    "/v1/responses": "openai-responses",
    "/v1/messages": "anthropic",
    "/v2/chat": "cohere",
    "/api/chat": "ollama",
    "/generate_stream": "tgi",
}
GEMINI_ROUTE = re.compile(r"^/v1beta/models/([^/:]+):streamGenerateContent$")
MAX_HEAD, MAX_BODY, MAX_LOG = 64 * 1024, 16 * 1024 * 1024, 10_000
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


class BadRequest(Exception):
    """The request (or an x-fake-* header) cannot be served; answered with 400."""


class ClientGone(Exception):
    """The client closed the connection or a write to it failed."""


class Faults:
    """The parsed `x-fake-fault` header: a comma-separated list of faults."""

    AFTER = ("drop-after", "reset-after", "stall-after", "malformed-json-after", "error-after")

    def __init__(self, header):
        self.after = {}
        self.split_utf8 = False
        self.status = None
        self.slow_headers_ms = 0
        for item in filter(None, (part.strip() for part in header.split(","))):
            name, _, value = item.partition(":")
            try:
                if name in self.AFTER:
                    self.after[name] = int(value)
                elif name == "split-utf8":
                    self.split_utf8 = True
                elif name == "status":
                    self.status = int(value)
                elif name == "slow-headers":
                    self.slow_headers_ms = int(value)
                else:
                    raise BadRequest(f"unknown fault {item!r}")
            except ValueError:
                raise BadRequest(f"fault {item!r} needs an integer") from None


def split_sse_events(data):
    """Split at the file's own blank lines (CRLF, LF or CR line ends); keep any tail."""
    events, start, line_start, i, n = [], 0, 0, 0, len(data)
    while i < n:
        if data[i] in (0x0A, 0x0D):
            end = i + 2 if data[i] == 0x0D and i + 1 < n and data[i + 1] == 0x0A else i + 1
            if i == line_start:
                events.append(data[start:end])
                start = end
            line_start = i = end
        else:
            i += 1
    if start < n:
        events.append(data[start:])
    return events


def split_lines(data):
    return [line for line in re.split(rb"(?<=\n)", data) if line]


def corrupt(event):
    """Cut the JSON of an event's first data line (or of an NDJSON line) in half."""
    match = re.search(rb"(?m)^data:[ ]?([^\r\n]*)", event)
    if match:
        value = match.group(1)
        return event[:match.start(1)] + value[:len(value) // 2] + event[match.end(1):]
    body = event.rstrip(b"\r\n")
    return body[:len(body) // 2] + event[len(body):]


def utf8_split_point(data):
    """Index just after the first byte of the first multi-byte UTF-8 character, or None."""
    for i, byte in enumerate(data):
        if byte >= 0xC0:
            return i + 1
    return None


class Record:
    """One logged request; `finished` fires when its response is over, however it ended."""

    def __init__(self, request_id, method, target, dialect):
        self.fields = {"id": request_id, "method": method, "target": target,
                       "dialect": dialect, "mode": None, "status": None, "fault": "",
                       "start_ns": time.time_ns(), "headers_sent_ns": None,
                       "events_sent": 0, "outcome": "in-progress", "end_ns": None,
                       "disconnected": False, "disconnected_ns": None}
        self.finished = asyncio.Event()

    def finish(self, outcome, disconnected=False):
        if self.finished.is_set():
            return
        now = time.time_ns()
        self.fields.update(outcome=outcome, end_ns=now)
        if disconnected:
            self.fields.update(disconnected=True, disconnected_ns=now)
        self.finished.set()


class Connection:
    """Buffered reads on one client connection, plus writes that raise ClientGone."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.buffer = bytearray()
        self.eof = False
        self.gone = asyncio.Event()
        self.arrived = asyncio.Event()
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # drain() then waits until every byte is in the kernel, so a drop or reset after
        # K events loses none of them.
        writer.transport.set_write_buffer_limits(high=0)

    async def pump(self):
        """Read everything the client sends, for the connection's life; EOF sets `gone`.

        One reader for the whole connection means the end of a client is noticed even
        mid-stream, and no read is ever cancelled (which could drop a pipelined request).
        """
        while True:
            try:
                data = await self.reader.read(65536)
            except (ConnectionError, OSError):
                data = b""
            if not data:
                self.eof = True
                self.gone.set()
                self.arrived.set()
                return
            self.buffer += data
            self.arrived.set()

    async def wait_for_bytes(self):
        """Wait until more bytes arrive; return False at EOF."""
        if self.eof:
            return False
        self.arrived.clear()
        await self.arrived.wait()
        return True

    async def read_until(self, separator, limit):
        while (index := self.buffer.find(separator)) < 0:
            if len(self.buffer) > limit:
                raise BadRequest("request head too large")
            if not await self.wait_for_bytes():
                return None
        out = bytes(self.buffer[:index + len(separator)])
        del self.buffer[:index + len(separator)]
        return out

    async def read_exactly(self, count):
        while len(self.buffer) < count:
            if not await self.wait_for_bytes():
                raise BadRequest("request body truncated")
        out = bytes(self.buffer[:count])
        del self.buffer[:count]
        return out

    async def write(self, data):
        if self.gone.is_set():
            raise ClientGone()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            self.gone.set()
            raise ClientGone() from None

    async def sleep(self, seconds):
        """Sleep, but raise ClientGone as soon as the client goes away."""
        if seconds > 0:
            try:
                await asyncio.wait_for(self.gone.wait(), seconds)
            except asyncio.TimeoutError:
                return
        if self.gone.is_set():
            raise ClientGone()


class ChunkWriter:
    """Writes stream events as HTTP chunks: one per event, or fixed-size, or split in UTF-8."""

    def __init__(self, conn, chunk_bytes, delay_ms, split_utf8):
        self.conn, self.chunk_bytes, self.delay = conn, chunk_bytes, delay_ms / 1000
        self.split_utf8 = split_utf8
        self.pending = bytearray()
        self.chunks = 0

    async def chunk(self, data):
        if self.chunks and self.delay:
            await self.conn.sleep(self.delay)
        self.chunks += 1
        await self.conn.write(b"%x\r\n%b\r\n" % (len(data), data))

    async def event(self, data):
        if self.split_utf8 and (cut := utf8_split_point(data)) is not None:
            await self.flush()
            await self.chunk(data[:cut])
            await self.chunk(data[cut:])
        elif self.chunk_bytes:
            self.pending += data
            while len(self.pending) >= self.chunk_bytes:
                piece = bytes(self.pending[:self.chunk_bytes])
                del self.pending[:self.chunk_bytes]
                await self.chunk(piece)
        else:
            await self.chunk(data)

    async def flush(self):
        if self.pending:
            piece, self.pending = bytes(self.pending), bytearray()
            await self.chunk(piece)


class FakeProvider:
    """Serves every connection; owns the request log."""

    def __init__(self, fixtures=FIXTURES):
        self.fixtures = fixtures
        self.log = collections.OrderedDict()
        self.ids = itertools.count(1)
        self.tasks = set()
        self.stopping = asyncio.Event()

    # -- connections -----------------------------------------------------------------

    async def handle_connection(self, reader, writer):
        self.tasks.add(asyncio.current_task())
        conn = Connection(reader, writer)
        pump = asyncio.create_task(conn.pump())
        try:
            while await self.serve_one(conn):
                pass
        except (ClientGone, asyncio.CancelledError):
            pass
        finally:
            self.tasks.discard(asyncio.current_task())
            pump.cancel()
            writer.transport.abort() if conn.gone.is_set() else writer.close()

    async def serve_one(self, conn):
        """Serve one request; return whether the connection may carry another."""
        try:
            head = await conn.read_until(b"\r\n\r\n", MAX_HEAD)
            if head is None:
                return False
            method, target, headers = parse_head(head)
            if headers.get("expect", "").lower() == "100-continue":
                await conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await read_body(conn, headers)
        except BadRequest as error:
            await self.respond(conn, 400, fake_error(str(error)), close=True)
            return False
        keep_alive = headers.get("connection", "").lower() != "close"
        url = urllib.parse.urlsplit(target)
        if url.path.startswith("/_fake/"):
            await self.control(conn, method, url, keep_alive)
            return keep_alive
        return await self.provider(conn, method, url, headers, body) and keep_alive

    async def respond(self, conn, status, body, headers=(), close=False,
                      content_type="application/json"):
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                 f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
                 *headers]
        if close:
            lines.append("Connection: close")
        await conn.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    # -- /_fake/ control endpoints ---------------------------------------------------

    async def control(self, conn, method, url, keep_alive):
        close = not keep_alive
        if method == "GET" and url.path == "/_fake/health":
            return await self.respond(conn, 200, b"ok", content_type="text/plain", close=close)
        if method == "GET" and url.path == "/_fake/requests":
            body = json.dumps([r.fields for r in self.log.values()]).encode()
            return await self.respond(conn, 200, body, close=close)
        match = re.fullmatch(r"/_fake/requests/([^/]+)", url.path)
        if method == "GET" and match:
            record = self.log.get(urllib.parse.unquote(match.group(1)))
            if record is None:
                return await self.respond(conn, 404, fake_error("unknown request id"),
                                          close=close)
            query = urllib.parse.parse_qs(url.query)
            wait_ms = int(query.get("wait_ms", ["0"])[0] or 0)
            if wait_ms > 0:
                try:
                    await asyncio.wait_for(record.finished.wait(), wait_ms / 1000)
                except asyncio.TimeoutError:
                    pass
            return await self.respond(conn, 200, json.dumps(record.fields).encode(),
                                      close=close)
        await self.respond(conn, 404, fake_error(f"no control endpoint {url.path}"),
                           close=close)

    # -- provider routes -------------------------------------------------------------

    def new_record(self, headers, method, target, dialect):
        request_id = headers.get("x-fake-request-id") or f"r{next(self.ids)}"
        if request_id in self.log:
            request_id = f"{request_id}-{next(self.ids)}"
        record = Record(request_id, method, target, dialect)
        self.log[request_id] = record
        while len(self.log) > MAX_LOG:
            self.log.popitem(last=False)
        return record

    async def provider(self, conn, method, url, headers, body):
        """Serve a provider route; return whether the connection is still usable."""
        dialect, model = ROUTES.get(url.path), None
        if (gemini := GEMINI_ROUTE.match(url.path)) is not None:
            dialect, model = "gemini", gemini.group(1)
        if dialect is None:
            await self.respond(conn, 404, fake_error(f"no route {url.path}"))
            return True
        record = self.new_record(headers, method, url.geturl(), dialect)
        id_header = f"x-fake-request-id: {record.fields['id']}"
        try:
            plan = self.plan(method, url, headers, body, dialect, model)
            record.fields.update(mode=plan["mode"], fault=headers.get("x-fake-fault", ""))
            faults = plan["faults"]
            await conn.sleep(faults.slow_headers_ms / 1000)
            if faults.status is not None:
                extra = [id_header] + (["Retry-After: 2"] if faults.status == 429 else [])
                record.fields["status"] = faults.status
                await self.respond(conn, faults.status, error_body(dialect, faults.status),
                                   extra)
                record.finish("status")
                return True
            return await self.stream(conn, record, plan, id_header)
        except BadRequest as error:
            record.fields["status"] = 400
            await self.respond(conn, 400, fake_error(str(error)), [id_header])
            record.finish("bad-request")
            return True
        except ClientGone:
            record.finish("client-disconnected", disconnected=True)
            return False
        except asyncio.CancelledError:
            record.finish("shutdown")
            raise

    def plan(self, method, url, headers, body, dialect, model):
        if method != "POST":
            raise BadRequest(f"{url.path} takes POST, not {method}")
        if dialect == "gemini" and "sse" not in urllib.parse.parse_qs(url.query).get("alt", []):
            raise BadRequest("streamGenerateContent is served only with ?alt=sse")
        try:
            request = json.loads(body) if body.strip() else {}
        except ValueError:
            raise BadRequest("request body is not JSON") from None
        if not isinstance(request, dict):
            request = {}
        plan = {"faults": Faults(headers.get("x-fake-fault", "")),
                "chunk_bytes": header_int(headers, "x-fake-chunk-bytes", 0),
                "delay_ms": header_int(headers, "x-fake-delay-ms", 0),
                "dialect": dialect,
                "content_type": "application/x-ndjson" if dialect == "ollama"
                else "text/event-stream"}
        if name := headers.get("x-fake-replay"):
            path = os.path.join(self.fixtures, name)
            if os.path.basename(name) != name or not os.path.isfile(path):
                raise BadRequest(f"no fixture named {name!r}")
            with open(path, "rb") as file:
                data = file.read()
            events = split_lines(data) if name.endswith(".ndjson") else split_sse_events(data)
            plan.update(mode="replay", events=events)
            return plan
        limit = request_token_limit(request)
        tokens = header_int(headers, "x-fake-tokens", limit if limit is not None else 16)
        rate = float(headers.get("x-fake-rate", "0") or 0)
        plan.update(mode="synthetic", rate=rate, stamp=headers.get("x-fake-stamp") == "1",
                    generator=DIALECTS[dialect](model or request.get("model") or "fake-model",
                                                tokens, limit is not None and tokens >= limit))
        return plan

    def synthetic_events(self, plan):
        """Yield event bytes, or for tokens a callable rendered at send time (for stamps)."""
        generator, faults = plan["generator"], plan["faults"]
        yield from generator.preamble()
        for k in range(1, generator.tokens + 1):
            def render(k=k):
                text = f"tok{k}"
                if faults.split_utf8:
                    text += "é" if k % 2 else "😈"
                if plan["stamp"]:
                    text += f"@{time.time_ns()}"
                return generator.token(k, text + " ")
            yield render
        yield from generator.finish()

    async def stream(self, conn, record, plan, id_header):
        faults = plan["faults"]
        synthetic = plan["mode"] == "synthetic"
        head = ["HTTP/1.1 200 OK", f"Content-Type: {plan['content_type']}",
                "Transfer-Encoding: chunked", "Cache-Control: no-cache", id_header]
        await conn.write(("\r\n".join(head) + "\r\n\r\n").encode())
        record.fields.update(status=200, headers_sent_ns=time.time_ns())
        out = ChunkWriter(conn, plan["chunk_bytes"], plan["delay_ms"], faults.split_utf8)
        events = self.synthetic_events(plan) if synthetic else iter(plan["events"])
        after, sent, tokens, start = faults.after, 0, 0, time.monotonic()
        for event in itertools.chain(events, [None]):
            # Faults fire once `sent` events are out, so K equal to the stream's length
            # means "after every event, before the end of the HTTP body".
            if sent == after.get("error-after"):
                for error_event in (plan["generator"] if synthetic
                                    else DIALECTS[plan["dialect"]]("fake", 0, False)).error_events():
                    await out.event(error_event)
                await out.flush()
                await conn.write(b"0\r\n\r\n")
                record.finish("error-event")
                return True
            for fault in ("drop-after", "reset-after", "stall-after"):
                if sent == after.get(fault):
                    await out.flush()
                    return await self.end_abnormally(conn, record, fault)
            if event is None:
                break
            if callable(event):
                if plan["rate"] > 0:
                    await conn.sleep(start + tokens / plan["rate"] - time.monotonic())
                tokens += 1
                event = event()
            if sent == after.get("malformed-json-after"):
                event = corrupt(event)
            await out.event(event)
            sent += 1
            record.fields["events_sent"] = sent
        await out.flush()
        await conn.write(b"0\r\n\r\n")
        record.finish("completed")
        return True

    async def end_abnormally(self, conn, record, fault):
        if fault == "stall-after":
            record.fields["outcome"] = "stalled"
            stop = asyncio.create_task(self.stopping.wait())
            gone = asyncio.create_task(conn.gone.wait())
            await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel(), gone.cancel()
            if conn.gone.is_set():
                raise ClientGone()
            record.finish("shutdown")
            return False
        if fault == "reset-after":
            sock = conn.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.writer.transport.abort()
            record.finish("reset")
        else:
            conn.writer.close()
            record.finish("dropped")
        return False

    async def shutdown(self):
        self.stopping.set()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def parse_head(head):
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise BadRequest("malformed request line") from None
    if version != "HTTP/1.1":
        raise BadRequest(f"only HTTP/1.1 is served, not {version}")
    headers = {}
    for line in lines[1:]:
        if line:
            name, colon, value = line.partition(":")
            if not colon:
                raise BadRequest(f"malformed header line {line!r}")
            headers[name.strip().lower()] = value.strip()
    return method, target, headers


async def read_body(conn, headers):
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = await conn.read_until(b"\r\n", MAX_HEAD)
            if size_line is None:
                raise BadRequest("request body truncated")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                raise BadRequest("malformed chunk size") from None
            if size == 0:
                while (await conn.read_until(b"\r\n", MAX_HEAD)) not in (b"\r\n", None):
                    pass
                return bytes(body)
            body += (await conn.read_exactly(size + 2))[:-2]
            if len(body) > MAX_BODY:
                raise BadRequest("request body too large")
    length = header_int(headers, "content-length", 0)
    if length > MAX_BODY:
        raise BadRequest("request body too large")
    return await conn.read_exactly(length)


def header_int(headers, name, default):
    value = headers.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise BadRequest(f"{name} must not be negative")
    return number


def request_token_limit(request):
    """The token limit a request asks for, wherever its dialect puts it, or None."""
    for value in (request.get("max_tokens"), request.get("max_output_tokens"),
                  request.get("max_completion_tokens"),
                  (request.get("parameters") or {}).get("max_new_tokens"),
                  (request.get("options") or {}).get("num_predict"),
                  (request.get("generationConfig") or {}).get("maxOutputTokens")):
        if isinstance(value, int) and value >= 0:
            return value
    return None


def fake_error(message):
    return json.dumps({"error": {"message": f"fake_provider: {message}",
                                 "type": "fake_provider_error"}}).encode()


async def main_async(host, port):
    # Handlers go in before the "listening" line so a signal sent right after it is seen.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    provider = FakeProvider()
    server = await asyncio.start_server(provider.handle_connection, host, port)
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(f"listening {shown}:{bound_port}", flush=True)
    await stop.wait()
    server.close()
    await provider.shutdown()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args.host, args.port)))


if __name__ == "__main__":
    main()
