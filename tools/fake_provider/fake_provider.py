#!/usr/bin/env python3
"""Fake LLM provider: a real HTTP/1.1 and HTTP/2 server on loopback for Tokenwire's tests.

    python3 tools/fake_provider/fake_provider.py --port 0 [--host 127.0.0.1]
                                                 [--tls-cert FILE --tls-key FILE]
    python3 tools/fake_provider/fake_provider.py --make-self-signed DIR

Prints `listening HOST:PORT` on stdout once bound, then serves until SIGTERM/SIGINT (exit 0).
asyncio streams; HTTP/1.1 with chunked responses and keep-alive (wire.py), and HTTP/2 on
the same port (h2wire.py, needs the `h2` package): h2c when a connection opens with the
HTTP/2 preface, h2 when TLS is on and ALPN picks it. No HTTP/1.0 close-delimited bodies.

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
import math
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dialects import DIALECTS, error_body  # noqa: E402
from wire import (MAX_HEAD, BadRequest, ClientGone, Connection, Http1Exchange,  # noqa: E402
                  fake_error, header_int, parse_head, read_body)

try:
    import h2wire  # noqa: E402  (needs the `h2` package; only HTTP/2 does)
except ImportError as missing:
    h2wire, H2_MISSING = None, missing
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

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
MAX_LOG = 10_000
MAX_LOGGED_BODY = 64 * 1024  # the log's `body` holds at most this much of a request body
CHUNK_MAX = 64 * 1024  # largest body chunk of the huge-* / many-data-lines / cut faults
HUGE_MARKER = "FAKE-HUGE-EVENT-TEXT"  # stands for huge-event's text until it is streamed


class Faults:
    """The parsed `x-fake-fault` header: a comma-separated list of faults."""

    AFTER = ("drop-after", "reset-after", "stall-after", "malformed-json-after", "error-after")
    # Faults that take a byte count; the first three replace the normal body.
    SIZED = ("huge-line", "many-data-lines", "cut-mid-line-after-bytes", "huge-event", "error-body-bytes")
    REPLACE_BODY = SIZED[:3]

    def __init__(self, header):
        self.after = {}
        self.sized = {}  # SIZED fault name -> bytes
        self.split_utf8 = False
        self.nul_token = False
        self.gzip = False
        self.status = None
        self.slow_headers_ms = 0
        self.retry_after = None  # the Retry-After value as written, e.g. "0.2"
        self.fail_first = None
        for item in filter(None, (part.strip() for part in header.split(","))):
            name, _, value = item.partition(":")
            try:
                if name in self.AFTER:
                    self.after[name] = int(value)
                elif name in self.SIZED:
                    self.sized[name] = int(value)
                    if self.sized[name] < 0:
                        raise BadRequest(f"fault {item!r} needs a non-negative byte count")
                elif name == "split-utf8":
                    self.split_utf8 = True
                elif name == "nul-token":
                    self.nul_token = True
                elif name == "gzip":
                    self.gzip = True
                elif name == "status":
                    self.status = int(value)
                elif name == "slow-headers":
                    self.slow_headers_ms = int(value)
                elif name == "fail-first":
                    self.fail_first = int(value)
                elif name == "retry-after":
                    self.retry_after = self.seconds(item, value)
                else:
                    raise BadRequest(f"unknown fault {item!r}")
            except ValueError:
                raise BadRequest(f"fault {item!r} needs an integer") from None
        if self.fail_first is not None and self.status is None:
            self.status = 429
        replacing = [name for name in self.REPLACE_BODY if name in self.sized]
        if len(replacing) > 1:
            raise BadRequest(f"faults {' and '.join(replacing)} cannot be combined")
        self.replace_body = replacing[0] if replacing else None
        if self.sized.get("cut-mid-line-after-bytes") == 0:
            raise BadRequest("cut-mid-line-after-bytes needs at least 1 byte")

    @staticmethod
    def seconds(item, value):
        """A non-negative, finite number of seconds, kept as written."""
        try:
            number = float(value)
        except ValueError:
            number = -1
        if not (math.isfinite(number) and number >= 0):
            raise BadRequest(f"fault {item!r} needs a non-negative number of seconds")
        return value

    def status_headers(self):
        """Extra headers of a status-fault response: Retry-After if chosen, or 2 for 429."""
        if self.retry_after is not None:
            return [("Retry-After", self.retry_after)]
        return [("Retry-After", "2")] if self.status == 429 else []


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


def repeat(byte, count):
    """`count` copies of one byte, lazily, in pieces of at most CHUNK_MAX bytes."""
    block = byte * min(count, CHUNK_MAX)
    while count >= CHUNK_MAX:
        yield block
        count -= CHUNK_MAX
    if count:
        yield block[:count]


def take(pieces, count):
    """The first `count` bytes of an iterable of byte pieces, still in pieces."""
    for piece in pieces:
        if count <= 0:
            return
        yield piece[:count]
        count -= len(piece)


class Huge:
    """An event too large to hold in memory (huge-event): its rendered bytes with
    HUGE_MARKER standing for `size` bytes of `x`, produced in pieces when sent."""

    def __init__(self, data, size):
        self.parts, self.size = data.split(HUGE_MARKER.encode()), size

    def __len__(self):
        return sum(map(len, self.parts)) + self.size * (len(self.parts) - 1)

    def pieces(self):
        for i, part in enumerate(self.parts):
            if i:
                yield from repeat(b"x", self.size)
            for start in range(0, len(part), CHUNK_MAX):
                yield part[start:start + CHUNK_MAX]


class GzipExchange:
    """Wraps an exchange for the gzip fault: `Content-Encoding: gzip` on the stream's
    head, every body chunk compressed and sync-flushed (so it decompresses at once),
    and the gzip trailer as the last chunk before the normal end."""

    def __init__(self, inner):
        self.inner = inner
        self.compressor = zlib.compressobj(wbits=31)  # 31: gzip header and trailer

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def start_stream(self, content_type, headers=()):
        await self.inner.start_stream(content_type, [("Content-Encoding", "gzip"), *headers])

    async def chunk(self, data):
        out = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        await self.inner.chunk(out)

    async def end(self):
        await self.inner.chunk(self.compressor.flush(zlib.Z_FINISH))
        await self.inner.end()


class Record:
    """One logged request; `finished` fires when its response is over, however it ended."""

    def __init__(self, request_id, method, target, dialect, protocol="http/1.1", tls=False):
        self.fields = {"id": request_id, "method": method, "target": target,
                       "dialect": dialect, "protocol": protocol, "tls": tls,
                       "mode": None, "status": None, "fault": "",
                       "fault_key": None, "attempt": None,
                       "start_ns": time.time_ns(), "headers_sent_ns": None,
                       "events_sent": 0, "outcome": "in-progress", "end_ns": None,
                       "disconnected": False, "disconnected_ns": None}
        self.finished = asyncio.Event()
        # Set (and replaced) whenever an event write starts or ends, for waiters.
        self.changed = asyncio.Event()
        # time.monotonic() when the event write in progress began; None between writes.
        self.writing_since = None

    def touch(self):
        self.changed.set()
        self.changed = asyncio.Event()

    def write_started(self):
        self.writing_since = time.monotonic()
        self.touch()

    def write_ended(self, sent):
        self.writing_since = None
        self.fields["events_sent"] = sent
        self.touch()

    def blocked_for(self):
        """Seconds the event write in progress has waited (0 when none is)."""
        return 0.0 if self.writing_since is None else time.monotonic() - self.writing_since

    async def wait(self, wait_ms, events=None, blocked_ms=None):
        """Wait up to wait_ms until the response is over, or (if given) until `events`
        events have been sent, or until one event write has waited blocked_ms (the client
        is not reading: the socket buffer or the HTTP/2 window is full)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + wait_ms / 1000

        def ready():
            if self.finished.is_set():
                return True
            if events is not None and self.fields["events_sent"] >= events:
                return True
            return blocked_ms is not None and self.blocked_for() * 1000 >= blocked_ms

        while not ready():
            timeout = end - loop.time()
            if timeout <= 0:
                return
            if blocked_ms is not None and self.writing_since is not None:
                timeout = min(timeout, max(0.001, blocked_ms / 1000 - self.blocked_for()))
            changed, finished = self.changed, self.finished
            waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(finished.wait())]
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()

    def finish(self, outcome, disconnected=False):
        if self.finished.is_set():
            return
        now = time.time_ns()
        self.fields.update(outcome=outcome, end_ns=now)
        if disconnected:
            self.fields.update(disconnected=True, disconnected_ns=now)
        self.writing_since = None
        self.finished.set()
        self.touch()


class ChunkWriter:
    """Writes stream events as body chunks (HTTP/1.1 chunks, HTTP/2 DATA frames): one per
    event, or fixed-size, or split in UTF-8."""

    def __init__(self, exchange, chunk_bytes, delay_ms, split_utf8):
        self.exchange, self.chunk_bytes, self.delay = exchange, chunk_bytes, delay_ms / 1000
        self.split_utf8 = split_utf8
        self.pending = bytearray()
        self.chunks = 0

    async def chunk(self, data):
        if self.chunks and self.delay:
            await self.exchange.sleep(self.delay)
        self.chunks += 1
        await self.exchange.chunk(data)

    async def event(self, data):
        if isinstance(data, Huge):
            await self.stream(data.pieces())
        elif self.split_utf8 and (cut := utf8_split_point(data)) is not None:
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

    async def stream(self, pieces):
        """Send a long run of bytes, given lazily in pieces, in chunks of CHUNK_MAX (or of
        x-fake-chunk-bytes, if smaller); without x-fake-chunk-bytes it ends a chunk, like
        an event, so what follows starts a new one."""
        size = min(self.chunk_bytes or CHUNK_MAX, CHUNK_MAX)
        for piece in pieces:
            self.pending += piece
            while len(self.pending) >= size:
                chunk = bytes(self.pending[:size])
                del self.pending[:size]
                await self.chunk(chunk)
        if not self.chunk_bytes:
            await self.flush()

    async def flush(self):
        if self.pending:
            piece, self.pending = bytes(self.pending), bytearray()
            await self.chunk(piece)


class FakeProvider:
    """Serves every connection; owns the request log and the fail-first counters."""

    def __init__(self, fixtures=FIXTURES):
        self.fixtures = fixtures
        self.log = collections.OrderedDict()
        self.ids = itertools.count(1)
        self.attempts = collections.Counter()  # x-fake-fault-key -> requests seen
        self.tasks = set()
        self.stopping = asyncio.Event()
        self.logged = asyncio.Event()  # set (and replaced) whenever a request is logged

    # -- connections -----------------------------------------------------------------

    def spawn(self, coro):
        """Start a task that shutdown() cancels."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def handle_connection(self, reader, writer):
        """Serve one TCP (or TLS) connection as HTTP/2 or HTTP/1.1."""
        self.tasks.add(asyncio.current_task())
        conn = Connection(reader, writer)
        pump = asyncio.create_task(conn.pump())
        tls = writer.get_extra_info("ssl_object")
        try:
            alpn = tls.selected_alpn_protocol() if tls is not None else None
            if alpn == "h2" or await conn.starts_with(PREFACE):
                await self.serve_h2(conn, "h2" if tls is not None else "h2c")
            else:
                while await self.serve_one(conn, tls is not None):
                    pass
        except (ClientGone, asyncio.CancelledError):
            pass
        finally:
            self.tasks.discard(asyncio.current_task())
            pump.cancel()
            writer.transport.abort() if conn.gone.is_set() else writer.close()

    async def serve_h2(self, conn, protocol):
        if h2wire is None:
            print(f"fake_provider: HTTP/2 needs the h2 package ({H2_MISSING})",
                  file=sys.stderr, flush=True)
            return
        await h2wire.H2Session(conn, protocol, self.handle, self.spawn).run()

    async def serve_one(self, conn, tls=False):
        """Serve one HTTP/1.1 request; return whether the connection may carry another."""
        try:
            head = await conn.read_until(b"\r\n\r\n", MAX_HEAD)
            if head is None:
                return False
            method, target, headers = parse_head(head)
            if headers.get("expect", "").lower() == "100-continue":
                await conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await read_body(conn, headers)
        except BadRequest as error:
            await Http1Exchange(conn, False, tls).respond(400, fake_error(str(error)))
            return False
        keep_alive = headers.get("connection", "").lower() != "close"
        exchange = Http1Exchange(conn, keep_alive, tls)
        return await self.handle(exchange, method, target, headers, body) and keep_alive

    async def handle(self, exchange, method, target, headers, body):
        """Serve one request of either protocol; return whether the connection is usable."""
        url = urllib.parse.urlsplit(target)
        if url.path.startswith("/_fake/"):
            await self.control(exchange, method, url)
            return True
        return await self.provider(exchange, method, url, headers, body)

    # -- /_fake/ control endpoints ---------------------------------------------------

    async def control(self, exchange, method, url):
        if method == "GET" and url.path == "/_fake/health":
            return await exchange.respond(200, b"ok", content_type="text/plain")
        if method == "GET" and url.path == "/_fake/requests":
            body = json.dumps([r.fields for r in self.log.values()]).encode()
            return await exchange.respond(200, body)
        match = re.fullmatch(r"/_fake/requests/([^/]+)", url.path)
        if method == "GET" and match:
            query = urllib.parse.parse_qs(url.query)

            def number(name):
                value = query.get(name, [""])[0]
                if value and not value.isdigit():
                    raise BadRequest(f"{name} needs a non-negative integer")
                return int(value) if value else None

            try:
                wait_ms, events, blocked_ms = number("wait_ms"), number("wait_events"), number("wait_blocked_ms")
            except BadRequest as error:
                return await exchange.respond(400, fake_error(str(error)))
            request_id = urllib.parse.unquote(match.group(1))
            loop = asyncio.get_running_loop()
            end = loop.time() + (wait_ms or 0) / 1000
            # With wait_ms, a request that has not arrived yet is waited for too.
            while (record := self.log.get(request_id)) is None and loop.time() < end:
                try:
                    await asyncio.wait_for(self.logged.wait(), end - loop.time())
                except asyncio.TimeoutError:
                    pass
            if record is None:
                return await exchange.respond(404, fake_error("unknown request id"))
            remaining_ms = (end - loop.time()) * 1000
            if remaining_ms > 0:
                await record.wait(remaining_ms, events=events, blocked_ms=blocked_ms)
            return await exchange.respond(200, json.dumps(record.fields).encode())
        await exchange.respond(404, fake_error(f"no control endpoint {url.path}"))

    # -- provider routes -------------------------------------------------------------

    def new_record(self, exchange, headers, method, target, dialect):
        request_id = headers.get("x-fake-request-id") or f"r{next(self.ids)}"
        if request_id in self.log:
            request_id = f"{request_id}-{next(self.ids)}"
        record = Record(request_id, method, target, dialect, exchange.protocol, exchange.tls)
        # W3C trace context as the relay passed it on (None when absent).
        record.fields["traceparent"] = headers.get("traceparent")
        record.fields["tracestate"] = headers.get("tracestate")
        self.log[request_id] = record
        self.logged.set()
        self.logged = asyncio.Event()
        while len(self.log) > MAX_LOG:
            self.log.popitem(last=False)
        return record

    def count_attempt(self, record, headers, faults):
        """Count this request under its x-fake-fault-key; return the status fault to
        answer with (None once a fail-first:N key has had its N failures)."""
        key = headers.get("x-fake-fault-key")
        if key is None:
            if faults.fail_first is not None:
                raise BadRequest("fail-first needs an x-fake-fault-key header")
            return faults.status
        self.attempts[key] += 1
        record.fields.update(fault_key=key, attempt=self.attempts[key])
        if faults.fail_first is not None and self.attempts[key] > faults.fail_first:
            return None
        return faults.status

    async def provider(self, exchange, method, url, headers, body):
        """Serve a provider route; return whether the connection is still usable."""
        dialect, model = ROUTES.get(url.path), None
        if (gemini := GEMINI_ROUTE.match(url.path)) is not None:
            dialect, model = "gemini", gemini.group(1)
        if dialect is None:
            await exchange.respond(404, fake_error(f"no route {url.path}"))
            return True
        record = self.new_record(exchange, headers, method, url.geturl(), dialect)
        record.fields.update(body_size=len(body), body_has_nul_escape=b"\\u0000" in body,
                             body=body[:MAX_LOGGED_BODY].decode("utf-8", "replace"))
        id_header = ("x-fake-request-id", record.fields["id"])
        try:
            plan = self.plan(method, url, headers, body, dialect, model)
            record.fields.update(mode=plan["mode"], fault=headers.get("x-fake-fault", ""))
            faults = plan["faults"]
            status = self.count_attempt(record, headers, faults)
            await exchange.sleep(faults.slow_headers_ms / 1000)
            if status is not None:
                record.fields["status"] = status
                body = error_body(dialect, status)
                if "error-body-bytes" in faults.sized:  # the JSON body, then spaces (still JSON)
                    body += b" " * max(0, faults.sized["error-body-bytes"] - len(body))
                await exchange.respond(status, body, [id_header] + faults.status_headers())
                record.finish("status")
                return True
            return await self.stream(exchange, record, plan, id_header)
        except BadRequest as error:
            record.fields["status"] = 400
            await exchange.respond(400, fake_error(str(error)), [id_header])
            record.finish("bad-request")
            return True
        except ClientGone as gone:
            record.finish(gone.outcome, disconnected=gone.outcome == "client-disconnected")
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
        faults = Faults(headers.get("x-fake-fault", ""))
        if dialect == "ollama" and "many-data-lines" in faults.sized:
            raise BadRequest("many-data-lines needs an SSE route, not ollama's NDJSON")
        if headers.get("x-fake-replay") and "huge-event" in faults.sized:
            raise BadRequest("huge-event works only on synthetic streams, not replays")
        plan = {"faults": faults,
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
        pieces = None
        if raw := headers.get("x-fake-pieces"):
            try:
                pieces = json.loads(raw)
            except ValueError as error:
                raise BadRequest(f"x-fake-pieces is not JSON: {error}")
            if not isinstance(pieces, list) or not all(isinstance(piece, str) for piece in pieces):
                raise BadRequest("x-fake-pieces must be a JSON array of strings")
        default = len(pieces) if pieces is not None else 16
        tokens = header_int(headers, "x-fake-tokens", limit if limit is not None else default)
        if pieces is not None:
            tokens = min(tokens, len(pieces))
        rate = float(headers.get("x-fake-rate", "0") or 0)
        pacing = headers.get("x-fake-pacing") or "schedule"
        if pacing not in ("schedule", "steady"):
            raise BadRequest(f"x-fake-pacing must be 'schedule' or 'steady', got {pacing!r}")
        plan.update(mode="synthetic", rate=rate, steady=pacing == "steady", stamp=headers.get("x-fake-stamp") == "1",
                    pieces=pieces,
                    generator=DIALECTS[dialect](model or request.get("model") or "fake-model",
                                                tokens, limit is not None and tokens >= limit))
        return plan

    def synthetic_events(self, plan):
        """Yield event bytes, or for tokens a callable rendered at send time (for stamps)."""
        generator, faults = plan["generator"], plan["faults"]
        yield from generator.preamble()
        for k in range(1, generator.tokens + 1):
            def render(k=k):
                if k == 1 and "huge-event" in faults.sized:
                    return Huge(generator.token(k, HUGE_MARKER), faults.sized["huge-event"])
                if plan["pieces"] is not None:
                    return generator.token(k, plan["pieces"][k - 1])
                text = f"tok{k}"
                if faults.nul_token:
                    text += "\x00x"  # compact() writes it as \u0000
                if faults.split_utf8:
                    text += "é" if k % 2 else "😈"
                if plan["stamp"]:
                    text += f"@{time.time_ns()}"
                return generator.token(k, text + " ")
            yield render
        yield from generator.finish()

    async def stream(self, exchange, record, plan, id_header):
        faults = plan["faults"]
        synthetic = plan["mode"] == "synthetic"
        if faults.gzip:
            exchange = GzipExchange(exchange)
        await exchange.start_stream(plan["content_type"], [id_header])
        record.fields.update(status=200, headers_sent_ns=time.time_ns())
        out = ChunkWriter(exchange, plan["chunk_bytes"], plan["delay_ms"], faults.split_utf8)
        events = self.synthetic_events(plan) if synthetic else iter(plan["events"])
        if faults.replace_body:
            return await self.replaced_body(exchange, record, plan, out, events)
        after, sent, tokens, start = faults.after, 0, 0, time.monotonic()
        huge = faults.sized.get("huge-event")
        for event in itertools.chain(events, [None]):
            # Faults fire once `sent` events are out, so K equal to the stream's length
            # means "after every event, before the end of the HTTP body".
            if sent == after.get("error-after"):
                for error_event in (plan["generator"] if synthetic
                                    else DIALECTS[plan["dialect"]]("fake", 0, False)).error_events():
                    await out.event(error_event)
                await out.flush()
                await exchange.end()
                record.finish("error-event")
                return True
            for fault in ("drop-after", "reset-after", "stall-after"):
                if sent == after.get(fault):
                    await out.flush()
                    return await self.end_abnormally(exchange, record, fault)
            if event is None:
                break
            if callable(event):
                if plan["rate"] > 0 and plan["steady"]:
                    # A gap before every token but the first: no catch-up after a late one.
                    if tokens > 0:
                        await exchange.sleep(1 / plan["rate"])
                elif plan["rate"] > 0:
                    await exchange.sleep(start + tokens / plan["rate"] - time.monotonic())
                tokens += 1
                event = event()
            if huge is not None and isinstance(event, bytes) and HUGE_MARKER.encode() in event:
                event = Huge(event, huge)  # e.g. a final event that repeats the whole text
            if sent == after.get("malformed-json-after") and isinstance(event, bytes):
                event = corrupt(event)
            record.write_started()
            await out.event(event)
            sent += 1
            record.write_ended(sent)
        await out.flush()
        await exchange.end()
        record.finish("completed")
        return True

    async def replaced_body(self, exchange, record, plan, out, events):
        """huge-line, many-data-lines or cut-mid-line-after-bytes: a body that is not
        the normal stream, then a stall (or, for the cut, a drop)."""
        faults = plan["faults"]
        fault = faults.replace_body
        size = faults.sized[fault]
        if fault == "huge-line":
            await out.stream(repeat(b"a", size))
        elif fault == "many-data-lines":
            line = b"data: " + b"x" * (1024 - len(b"data: \n")) + b"\n"
            lines = -(-size // 1024) or 1
            block = line * (CHUNK_MAX // 1024)
            await out.stream(take(itertools.repeat(block), lines * 1024))
        else:  # cut-mid-line-after-bytes: one normal event, then an unfinished line
            first = next(events, None)
            if callable(first):
                first = first()
            if isinstance(first, Huge):  # with huge-event: no first event
                first = None
            prefix = b'{"pad":"' if plan["dialect"] == "ollama" else b'data: {"pad":"'
            if first is not None and len(first) + len(prefix) < size:
                await out.event(first)
                record.fields["events_sent"] = 1
                size -= len(first)
            await out.stream(take(itertools.chain([prefix], repeat(b"x", size)), size))
            await out.flush()
            return await self.end_abnormally(exchange, record, "drop-after")
        await out.flush()
        return await self.end_abnormally(exchange, record, "stall-after")

    async def end_abnormally(self, exchange, record, fault):
        """drop-after, reset-after or stall-after fires; return False (connection unusable
        for HTTP/1.1)."""
        if fault == "stall-after":
            record.fields["outcome"] = "stalled"
            stop = asyncio.create_task(self.stopping.wait())
            gone = asyncio.create_task(exchange.gone.wait())
            await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel(), gone.cancel()
            exchange.raise_if_gone()
            record.finish("shutdown")
            return False
        if fault == "reset-after":
            await exchange.reset()
            record.finish("reset")
        else:
            await exchange.drop()
            record.finish("dropped")
        return False

    async def shutdown(self):
        self.stopping.set()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


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


def tls_context(cert_file, key_file):
    """A server TLS context offering h2 and http/1.1 by ALPN."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = localhost
O = Tokenwire fake provider
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def make_self_signed(directory):
    """Write DIR/cert.pem and DIR/key.pem with the `openssl` CLI: an EC P-256 key and a
    self-signed certificate for 127.0.0.1, ::1 and localhost, valid 10 years, that is
    also its own CA (so a client can use cert.pem as its CA file). Return both paths."""
    os.makedirs(directory, exist_ok=True)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with tempfile.NamedTemporaryFile("w", suffix=".cnf") as config:
        config.write(OPENSSL_CONFIG)
        config.flush()
        subprocess.run(["openssl", "req", "-x509", "-config", config.name,
                        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-sha256", "-days", "3650",
                        "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return cert, key


async def main_async(host, port, ssl_context=None):
    # Handlers go in before the "listening" line so a signal sent right after it is seen.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # A parent may start us from a thread that blocks signals (Swift's Foundation.Process
    # passes its mask on); unblock them, or SIGTERM would never arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    provider = FakeProvider()
    server = await asyncio.start_server(provider.handle_connection, host, port,
                                        ssl=ssl_context)
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
    parser.add_argument("--tls-cert", metavar="FILE", help="serve TLS (ALPN h2, http/1.1)")
    parser.add_argument("--tls-key", metavar="FILE", help="the key of --tls-cert")
    parser.add_argument("--make-self-signed", metavar="DIR",
                        help="write DIR/cert.pem and DIR/key.pem, print their paths, exit")
    args = parser.parse_args()
    if args.make_self_signed:
        try:
            cert, key = make_self_signed(args.make_self_signed)
        except (OSError, subprocess.CalledProcessError) as error:
            sys.exit(f"fake_provider: openssl failed: {getattr(error, 'stderr', '') or error}")
        print(f"cert {cert}\nkey {key}", flush=True)
        return
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    context = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    sys.exit(asyncio.run(main_async(args.host, args.port, context)))


if __name__ == "__main__":
    main()
