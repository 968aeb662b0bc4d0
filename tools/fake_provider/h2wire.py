"""The HTTP/2 side of the fake provider's wire, on the `h2` package (PyPI, 4.x).

`H2Session` runs one HTTP/2 connection (h2c with prior knowledge, or h2 chosen by ALPN
over TLS): it feeds every received byte to an `h2.connection.H2Connection`, starts one
task per complete request, and wakes streams when the client opens its flow-control
window. `H2Exchange` is one stream's response channel, with the same methods as
`wire.Http1Exchange`, so `FakeProvider` serves both protocols with one code path.

Fault mapping: drop-after closes the TCP connection (FIN) without END_STREAM, which ends
every stream on it; reset-after sends RST_STREAM(INTERNAL_ERROR) on that stream only;
stall-after sends nothing more. A client's RST_STREAM, GOAWAY or closed connection makes
its streams `gone`.
"""
import asyncio
import sys
import traceback

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions

from wire import MAX_BODY, ClientGone, fake_error, sleep_unless

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class H2Stream:
    """Server-side state of one request stream."""

    def __init__(self, stream_id, headers):
        self.id = stream_id
        self.headers = headers  # name -> value (str), pseudo-headers included
        self.body = bytearray()
        self.too_large = False
        self.started = False                # the request is complete and being served
        self.gone = asyncio.Event()         # client reset it, or the connection ended
        self.window_open = asyncio.Event()  # set on WINDOW_UPDATE / SETTINGS / gone


class H2Session:
    """One HTTP/2 connection on a `wire.Connection`.

    `handler(exchange, method, target, headers, body)` serves one request; `spawn(coro)`
    starts (and tracks) the task for it.
    """

    LINGER = 10.0  # seconds to wait for the client's close once the connection is over

    def __init__(self, conn, protocol, handler, spawn):
        self.conn, self.protocol = conn, protocol
        self.handler, self.spawn = handler, spawn
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.streams = {}
        self.closed_outcome = None  # set when the connection is over

    async def run(self):
        """Serve until the client closes the connection (or sends garbage).

        Once the connection is over for the server (a drop, the client's GOAWAY) it goes
        on reading, and discarding, until the client closes (at most LINGER s), so the
        client's late frames are not answered with a TCP RST.
        """
        self.h2.initiate_connection()
        self.flush()
        try:
            while True:
                if self.conn.buffer and self.closed_outcome:
                    self.conn.take()
                elif self.conn.buffer:
                    try:
                        events = self.h2.receive_data(self.conn.take())
                    except h2.exceptions.ProtocolError:
                        self.flush()  # h2 queued a GOAWAY
                        self.conn.close()
                        break
                    for event in events:
                        self.dispatch(event)
                    self.flush()
                elif not await self.wait_for_bytes():
                    break
        except asyncio.CancelledError:  # the server is stopping: say goodbye
            if not self.closed_outcome:
                self.h2.close_connection()
                self.flush()
            raise
        finally:
            self.lost("client-disconnected")

    async def wait_for_bytes(self):
        """More bytes arrived: True; EOF (or LINGER s after the connection is over): False."""
        if not self.closed_outcome:
            return await self.conn.wait_for_bytes()
        try:
            return await asyncio.wait_for(self.conn.wait_for_bytes(), self.LINGER)
        except asyncio.TimeoutError:
            return False

    def flush(self):
        """Queue whatever h2 has to send (frames of any stream, acks, window updates)."""
        self.conn.write_nowait(self.h2.data_to_send())

    async def send(self, stream):
        """Flush and wait until the kernel has the bytes; ClientGone if that fails."""
        if self.closed_outcome:
            raise ClientGone(self.closed_outcome)
        try:
            await self.conn.write(self.h2.data_to_send())
        except ClientGone:
            self.lost("client-disconnected")
            raise ClientGone(self.closed_outcome) from None
        if stream.gone.is_set():
            raise ClientGone(self.closed_outcome or "client-disconnected")

    def lost(self, outcome):
        """The connection is over: every stream on it is gone, with this outcome."""
        self.closed_outcome = self.closed_outcome or outcome
        self.conn.gone.set()
        for stream in self.streams.values():
            stream.gone.set()
            stream.window_open.set()

    def drop(self):
        """Send FIN with no END_STREAM or GOAWAY (over TLS: close_notify and FIN)."""
        self.lost("dropped")
        if self.conn.writer.can_write_eof():
            self.conn.writer.write_eof()
        else:
            self.conn.close()

    # -- received frames -------------------------------------------------------------

    def dispatch(self, event):
        if isinstance(event, h2.events.RequestReceived):
            headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                       for name, value in event.headers}
            self.streams[event.stream_id] = H2Stream(event.stream_id, headers)
        elif isinstance(event, h2.events.DataReceived):
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if (stream := self.streams.get(event.stream_id)) is not None:
                stream.body += event.data
                if len(stream.body) > MAX_BODY:
                    stream.too_large, stream.body = True, bytearray()
        elif isinstance(event, h2.events.StreamEnded):
            if (stream := self.streams.get(event.stream_id)) is not None:
                stream.started = True
                self.spawn(self.serve(stream))
        elif isinstance(event, h2.events.StreamReset):
            if (stream := self.streams.get(event.stream_id)) is not None:
                stream.gone.set()
                stream.window_open.set()
                if not stream.started:  # reset before the request was complete
                    del self.streams[event.stream_id]
        elif isinstance(event, h2.events.WindowUpdated):
            targets = (self.streams.values() if event.stream_id == 0
                       else filter(None, [self.streams.get(event.stream_id)]))
            for stream in targets:
                stream.window_open.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for stream in self.streams.values():
                stream.window_open.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.lost("client-disconnected")

    async def serve(self, stream):
        """Run the handler for one complete request; never lets ClientGone escape."""
        exchange = H2Exchange(self, stream)
        headers = {k: v for k, v in stream.headers.items() if not k.startswith(":")}
        if ":authority" in stream.headers:
            headers.setdefault("host", stream.headers[":authority"])
        body = b"" if stream.too_large else bytes(stream.body)
        try:
            if stream.too_large:
                await exchange.respond(400, fake_error("request body too large"))
                return
            await self.handler(exchange, stream.headers.get(":method", ""),
                               stream.headers.get(":path", "/"), headers, body)
        except ClientGone:
            pass
        except Exception:  # a bug: report it, and fail only this stream
            traceback.print_exc(file=sys.stderr)
            exchange.abort(h2.errors.ErrorCodes.INTERNAL_ERROR)
        finally:
            self.streams.pop(stream.id, None)


class H2Exchange:
    """One HTTP/2 stream's response; see wire.py for the exchange interface."""

    def __init__(self, session, stream):
        self.session, self.stream = session, stream
        self.protocol = session.protocol
        self.tls = session.protocol == "h2"

    @property
    def gone(self):
        return self.stream.gone

    def raise_if_gone(self):
        if self.stream.gone.is_set():
            raise ClientGone(self.session.closed_outcome or "client-disconnected")

    def call(self, method, *args, **kwargs):
        """Call an H2Connection method; a stream/connection h2 refuses is a gone client."""
        self.raise_if_gone()
        try:
            return method(*args, **kwargs)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self.stream.gone.set()
            raise ClientGone(self.session.closed_outcome or "client-disconnected") from None

    async def send_headers(self, status, headers, end_stream=False):
        fields = [(":status", str(status))] + [(name.lower(), str(value))
                                               for name, value in headers]
        self.call(self.session.h2.send_headers, self.stream.id, fields, end_stream=end_stream)
        await self.session.send(self.stream)

    async def respond(self, status, body, headers=(), content_type="application/json"):
        fixed = [("content-type", content_type), ("content-length", len(body))]
        await self.send_headers(status, fixed + list(headers), end_stream=not body)
        if body:
            await self.chunk(body)
            await self.end()

    async def start_stream(self, content_type, headers=()):
        fixed = [("content-type", content_type), ("cache-control", "no-cache")]
        await self.send_headers(200, fixed + list(headers))

    async def chunk(self, data):
        """Send `data` as DATA frames, each as large as the peer's windows allow.

        When a window is closed it waits for WINDOW_UPDATE (or a SETTINGS change)
        rather than buffering, so a slow reader slows the stream.
        """
        h2conn = self.session.h2
        while data:
            window = min(self.call(h2conn.local_flow_control_window, self.stream.id),
                         h2conn.max_outbound_frame_size)
            if window <= 0:
                self.stream.window_open.clear()
                await self.stream.window_open.wait()
                continue
            piece, data = data[:window], data[window:]
            self.call(h2conn.send_data, self.stream.id, piece)
            await self.session.send(self.stream)

    async def end(self):
        self.call(self.session.h2.end_stream, self.stream.id)
        await self.session.send(self.stream)

    async def sleep(self, seconds):
        await sleep_unless(self.stream.gone, seconds)
        self.raise_if_gone()

    async def drop(self):
        self.session.drop()

    async def reset(self):
        self.abort(h2.errors.ErrorCodes.INTERNAL_ERROR)
        await self.session.send(self.stream)

    def abort(self, code):
        """RST_STREAM this stream with `code` (if it is still open)."""
        try:
            self.session.h2.reset_stream(self.stream.id, code)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            return
        self.session.flush()
