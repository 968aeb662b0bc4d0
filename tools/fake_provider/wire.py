"""The HTTP/1.1 side of the fake provider's wire: errors, one buffered client connection,
request-head parsing and the HTTP/1.1 response writer (`Http1Exchange`).

An *exchange* is one request's response channel. `FakeProvider` only talks to exchanges,
so the same routes, streams and faults run over HTTP/1.1 (`Http1Exchange`, here) and
HTTP/2 (`H2Exchange` in h2wire.py). Every exchange has:

    protocol, tls          "http/1.1" / "h2c" / "h2", and whether TLS is under it
    gone                   asyncio.Event set once the client has left
    raise_if_gone()        raise ClientGone if it has
    respond(status, body, headers, content_type)   a whole fixed-length response
    start_stream(content_type, headers)            a 200 head for a streamed body
    chunk(data)            one body chunk (HTTP/1.1 chunk, HTTP/2 DATA frame[s])
    end()                  end the body normally
    sleep(seconds)         sleep, raising ClientGone as soon as the client leaves
    drop(), reset()        end abnormally (the drop-after and reset-after faults)
"""
import asyncio
import json
import socket
import struct

MAX_HEAD, MAX_BODY = 64 * 1024, 16 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}


class BadRequest(Exception):
    """The request (or an x-fake-* header) cannot be served; answered with 400."""


class ClientGone(Exception):
    """The response cannot go on: the client left, or the server closed the connection.

    `outcome` is what the request log records: `client-disconnected` when the client
    left, `dropped` when a drop-after fault of another HTTP/2 stream closed the shared
    connection.
    """

    def __init__(self, outcome="client-disconnected"):
        super().__init__(outcome)
        self.outcome = outcome


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
        if writer.get_extra_info("ssl_object") is None:
            writer.transport.set_write_buffer_limits(high=0)
        else:
            # asyncio's TLS transport pauses at size >= high, so high=0 would pause it
            # with an empty buffer; 1 means "until the TLS layer has handed everything
            # to the TCP transport", whose own limit is then set to 0 as above.
            writer.transport.set_write_buffer_limits(high=1, low=0)
            inner = getattr(getattr(writer.transport, "_ssl_protocol", None), "_transport", None)
            if inner is not None:
                inner.set_write_buffer_limits(high=0)

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

    def take(self):
        """Everything buffered so far (emptying the buffer)."""
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    async def starts_with(self, prefix):
        """Whether the connection's first bytes are `prefix` (False at an early EOF)."""
        while len(self.buffer) < len(prefix) and prefix.startswith(self.buffer):
            if not await self.wait_for_bytes():
                break
        return self.buffer.startswith(prefix)

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

    def write_nowait(self, data):
        """Queue bytes without waiting for the kernel to take them."""
        if data and not self.gone.is_set():
            self.writer.write(data)

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
        await sleep_unless(self.gone, seconds)
        if self.gone.is_set():
            raise ClientGone()

    def close(self):
        """FIN after the queued bytes."""
        self.writer.close()

    def reset(self):
        """RST: SO_LINGER 0, then abort."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


async def sleep_unless(event, seconds):
    """Sleep up to `seconds`, returning early once `event` is set."""
    if seconds > 0 and not event.is_set():
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except asyncio.TimeoutError:
            pass


class Http1Exchange:
    """One HTTP/1.1 request's response on a Connection (chunked when streamed)."""

    protocol = "http/1.1"

    def __init__(self, conn, keep_alive=True, tls=False):
        self.conn, self.keep_alive, self.tls = conn, keep_alive, tls

    @property
    def gone(self):
        return self.conn.gone

    def raise_if_gone(self):
        if self.conn.gone.is_set():
            raise ClientGone()

    def head(self, status, headers):
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
                 *(f"{name}: {value}" for name, value in headers)]
        if not self.keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def respond(self, status, body, headers=(), content_type="application/json"):
        fixed = [("Content-Type", content_type), ("Content-Length", len(body))]
        await self.conn.write(self.head(status, fixed + list(headers)) + body)

    async def start_stream(self, content_type, headers=()):
        fixed = [("Content-Type", content_type), ("Transfer-Encoding", "chunked"),
                 ("Cache-Control", "no-cache")]
        await self.conn.write(self.head(200, fixed + list(headers)))

    async def chunk(self, data):
        await self.conn.write(b"%x\r\n%b\r\n" % (len(data), data))

    async def end(self):
        await self.conn.write(b"0\r\n\r\n")

    async def sleep(self, seconds):
        await self.conn.sleep(seconds)

    async def drop(self):
        self.conn.close()

    async def reset(self):
        self.conn.reset()


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


def fake_error(message):
    """The JSON body of the fake's own errors (bad x-fake-* headers, unknown routes)."""
    return json.dumps({"error": {"message": f"fake_provider: {message}",
                                 "type": "fake_provider_error"}}).encode()
