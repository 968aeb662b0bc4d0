"""Tests for the fake provider's HTTP/2 (h2c and h2 over TLS), TLS with ALPN, and the
retry faults (retry-after, fail-first). A real server subprocess; the HTTP/2 client is
the `h2` package on a plain blocking socket (plus nghttp as an independent client).
Every network wait is bounded by a socket timeout."""
import http.client
import gzip
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_fake_provider import (FIXTURE_FILES, FIXTURES, SCRIPT, TIMEOUT,  # noqa: E402
                                payloads, record, request, sse_data, strings)
from fake_provider import split_lines, split_sse_events  # noqa: E402

DIALECT_ROUTES = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v2/chat",
                  "/api/chat", "/generate_stream",
                  "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"]


def start_server(*args):
    proc = subprocess.Popen([sys.executable, SCRIPT, "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening 127.0.0.1:"), (line, proc.stderr.read())
    return proc, int(line.rsplit(":", 1)[1])


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        proc.kill() if proc.poll() is None else None
        proc.stdout.close(), proc.stderr.close()


@pytest.fixture(scope="module")
def port():
    proc, port = start_server()
    yield port
    stop_server(proc)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    out = subprocess.run([sys.executable, SCRIPT, "--make-self-signed", str(directory)],
                         capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert out.stdout.split() == ["cert", str(directory / "cert.pem"),
                                  "key", str(directory / "key.pem")]
    return str(directory / "cert.pem"), str(directory / "key.pem")


@pytest.fixture(scope="module")
def tls_port(certs):
    proc, port = start_server("--tls-cert", certs[0], "--tls-key", certs[1])
    yield port
    stop_server(proc)


def client_tls(cert, alpn):
    context = ssl.create_default_context(cafile=cert)
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # as Python 3.13's default
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


class Reply:
    """What one HTTP/2 stream received: DATA frames kept apart."""

    def __init__(self):
        self.status, self.headers, self.frames = None, {}, []
        self.ended, self.reset_code = False, None

    @property
    def body(self):
        return b"".join(self.frames)

    @property
    def done(self):
        return self.ended or self.reset_code is not None


class H2Client:
    """A blocking HTTP/2 client (prior knowledge, or over a TLS socket) for the tests."""

    def __init__(self, port, context=None, hostname="localhost", window=None):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock = context.wrap_socket(sock, server_hostname=hostname) if context else sock
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        if window is not None:  # a tiny stream window; acks off until open_window()
            self.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.auto_ack = window is None
        self.replies, self.closed, self.order, self.goaway = {}, False, [], None
        self.flush()

    def flush(self):
        self.sock.sendall(self.h2.data_to_send())

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, path, headers=None, body=b"{}", method="POST"):
        stream_id = self.h2.get_next_available_stream_id()
        fields = [(":method", method), (":path", path), (":scheme", "http"),
                  (":authority", "fake"), *(headers or {}).items()]
        self.replies[stream_id] = Reply()
        self.h2.send_headers(stream_id, fields, end_stream=not body)
        self.flush()
        while body:  # as much as the server's windows allow, else wait for WINDOW_UPDATE
            window = min(self.h2.local_flow_control_window(stream_id),
                         self.h2.max_outbound_frame_size)
            if window <= 0:
                assert self.pump(), "the server closed while the body was being sent"
                continue
            piece, body = body[:window], body[window:]
            self.h2.send_data(stream_id, piece, end_stream=not body)
            self.flush()
        return stream_id

    def pump(self):
        """Read once and handle the frames; False at EOF."""
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        for event in self.h2.receive_data(data):
            self.handle(event)
        self.flush()
        return True

    def handle(self, event):
        reply = self.replies.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.ResponseReceived):
            reply.headers = dict(event.headers)
            reply.status = int(reply.headers[":status"])
        elif isinstance(event, h2.events.DataReceived):
            if event.data:  # (an empty DATA frame only carries END_STREAM)
                reply.frames.append(event.data)
                self.order.append(event.stream_id)
            if self.auto_ack:
                self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                  event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            reply.ended = True
        elif isinstance(event, h2.events.StreamReset):
            reply.reset_code = event.error_code
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event.error_code

    def wait(self, *stream_ids):
        """Read until every given stream has ended or been reset, or the server closed."""
        while not all(self.replies[s].done for s in stream_ids) and self.pump():
            pass
        return [self.replies[s] for s in stream_ids] if len(stream_ids) > 1 \
            else self.replies[stream_ids[0]]

    def wait_frames(self, stream_id, count):
        while len(self.replies[stream_id].frames) < count and self.pump():
            pass
        return self.replies[stream_id]

    def quiet_for(self, seconds):
        """Assert the server sends nothing for `seconds`."""
        self.sock.settimeout(seconds)
        try:
            with pytest.raises(socket.timeout):
                self.pump()
        finally:
            self.sock.settimeout(TIMEOUT)

    def cancel(self, stream_id):
        self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        self.flush()

    def open_window(self, stream_id, size=1 << 20):
        self.auto_ack = True
        self.h2.increment_flow_control_window(size, stream_id)
        self.h2.increment_flow_control_window(size)
        self.flush()


def h2_request(port, path, headers=None, body=b"{}", method="POST"):
    with H2Client(port) as client:
        return client.wait(client.request(path, headers, body, method))


def normalize(data):
    """Blank the per-stream ids and clock values of synthetic streams."""
    data = re.sub(rb"fake-[0-9a-f]+", b"fake-ID", data)
    data = re.sub(rb'"(created|created_at)":\d+', rb'"\1":0', data)
    return re.sub(rb'"created_at":"[^"]*"', b'"created_at":"T"', data)


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as file:
        return file.read()


# -- h2c: streams identical to HTTP/1.1 ----------------------------------------------

@pytest.mark.parametrize("path", DIALECT_ROUTES)
def test_h2c_synthetic_stream_matches_http1_frame_for_chunk(port, path):
    headers = {"x-fake-tokens": "3", "x-fake-fault": "split-utf8"}
    http1 = request(port, path, headers)
    reply = h2_request(port, path, headers)
    assert reply.status == 200 and reply.ended and http1.terminated
    assert reply.headers["content-type"] == http1.headers["content-type"]
    assert [normalize(f) for f in reply.frames] == [normalize(c) for c in http1.chunks]
    entry = record(port, reply.headers["x-fake-request-id"])
    assert (entry["protocol"], entry["tls"], entry["outcome"]) == ("h2c", False, "completed")
    assert record(port, http1.headers["x-fake-request-id"])["protocol"] == "http/1.1"


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_h2c_replay_is_byte_exact_one_event_per_frame(port, name):
    reply = h2_request(port, "/v1/chat/completions", {"x-fake-replay": name})
    expected = fixture(name)
    assert reply.status == 200 and reply.ended and reply.body == expected
    split = split_lines if name.endswith(".ndjson") else split_sse_events
    assert reply.frames == split(expected)


def test_h2c_chunk_bytes_and_delay_shape_the_frames(port):
    name = "gemini-thought-functioncall-crlf.sse"
    start = time.monotonic()
    reply = h2_request(port, "/v1beta/models/g:streamGenerateContent?alt=sse",
                       {"x-fake-replay": name, "x-fake-chunk-bytes": "300",
                        "x-fake-delay-ms": "20"})
    assert reply.body == fixture(name)
    assert all(len(f) == 300 for f in reply.frames[:-1]) and len(reply.frames) >= 3
    assert time.monotonic() - start >= (len(reply.frames) - 1) * 0.02 * 0.9


def test_h2c_rate_and_stamp(port):
    before = time.time_ns()
    start = time.monotonic()
    reply = h2_request(port, "/v1/chat/completions", {"x-fake-tokens": "6", "x-fake-rate": "50",
                                                      "x-fake-stamp": "1"})
    assert time.monotonic() - start >= 5 / 50 * 0.9
    texts = [json.loads(d)["choices"][0]["delta"]["content"] for d in sse_data(reply.body)[1:7]]
    stamps = [int(t.rstrip(" ").partition("@")[2]) for t in texts]
    assert stamps == sorted(stamps) and before <= stamps[0] <= stamps[-1] <= time.time_ns()


def test_nghttp_as_an_independent_h2c_client(port, tmp_path):
    nghttp = shutil.which("nghttp")
    assert nghttp, "nghttp (Debian nghttp2-client, from tools/bootstrap.sh) is needed"
    body = tmp_path / "body.json"
    body.write_bytes(b'{"max_tokens":4}')
    out = subprocess.run([nghttp, "-d", str(body), f"http://127.0.0.1:{port}/v1/messages"],
                         capture_output=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    http1 = request(port, "/v1/messages", body=b'{"max_tokens":4}')
    assert normalize(out.stdout) == normalize(http1.body)


def test_h2c_control_endpoints(port):
    reply = h2_request(port, "/_fake/health", body=b"", method="GET")
    assert (reply.status, reply.body) == (200, b"ok")
    reply = h2_request(port, "/_fake/requests", body=b"", method="GET")
    assert reply.status == 200 and isinstance(json.loads(reply.body), list)
    assert h2_request(port, "/nowhere").status == 404


def test_h2c_large_request_body_is_read_past_the_initial_window(port):
    body = json.dumps({"max_tokens": 2, "pad": "x" * 200_000}).encode()
    reply = h2_request(port, "/v1/chat/completions", body=body)
    assert reply.status == 200 and reply.ended
    assert [json.loads(d) for d in sse_data(reply.body)[:-1]][-1]["usage"]["completion_tokens"] == 2


# -- h2c: faults ---------------------------------------------------------------------

def test_h2c_drop_after_closes_the_connection_without_end_stream(port):
    with H2Client(port) as client:
        reply = client.wait(client.request("/v1/chat/completions",
                                           {"x-fake-tokens": "5", "x-fake-fault": "drop-after:2"}))
        assert client.closed and not reply.ended and reply.reset_code is None
        assert client.goaway is None
    assert reply.status == 200 and len(reply.frames) == 2
    entry = record(port, reply.headers["x-fake-request-id"], wait_ms=3000)
    assert entry["outcome"] == "dropped" and not entry["disconnected"]


def test_h2c_drop_after_also_ends_the_other_streams_on_the_connection(port):
    with H2Client(port) as client:
        slow = client.request("/v1/chat/completions", {"x-fake-tokens": "100",
                                                       "x-fake-rate": "20",
                                                       "x-fake-request-id": "victim"})
        client.wait_frames(slow, 1)
        client.wait(client.request("/v1/messages", {"x-fake-fault": "drop-after:1"}))
        assert client.closed and not client.replies[slow].ended
    entry = record(port, "victim", wait_ms=3000)
    assert entry["outcome"] == "dropped" and not entry["disconnected"]


def test_h2c_reset_after_sends_rst_stream_internal_error_and_keeps_the_connection(port):
    with H2Client(port) as client:
        reply = client.wait(client.request("/v1/messages", {"x-fake-fault": "reset-after:1"}))
        assert reply.reset_code == h2.errors.ErrorCodes.INTERNAL_ERROR and not reply.ended
        assert len(reply.frames) == 1 and b"message_start" in reply.body
        again = client.wait(client.request("/v1/messages", {"x-fake-tokens": "1"}))
        assert again.ended and b"message_stop" in again.body
    assert record(port, reply.headers["x-fake-request-id"])["outcome"] == "reset"


def test_h2c_stall_after_goes_silent_until_the_client_resets_the_stream(port):
    with H2Client(port) as client:
        stream = client.request("/v1/chat/completions", {"x-fake-fault": "stall-after:2"})
        reply = client.wait_frames(stream, 2)
        client.quiet_for(0.3)
        request_id = reply.headers["x-fake-request-id"]
        assert record(port, request_id)["outcome"] == "stalled"
        cancelled_ns = time.time_ns()
        client.cancel(stream)
        entry = record(port, request_id, wait_ms=3000)
    assert entry["outcome"] == "client-disconnected" and entry["disconnected"]
    assert cancelled_ns <= entry["disconnected_ns"] and entry["events_sent"] == 2


def test_h2c_malformed_json_and_error_after(port):
    reply = h2_request(port, "/v1/chat/completions", {"x-fake-tokens": "3",
                                                      "x-fake-fault": "malformed-json-after:1"})
    data = sse_data(reply.body)
    with pytest.raises(ValueError):
        json.loads(data[1])
    assert json.loads(data[2]) and data[-1] == "[DONE]" and reply.ended
    reply = h2_request(port, "/v1/messages", {"x-fake-fault": "error-after:3"})
    assert reply.ended and b"event: error\n" in reply.body and b"message_stop" not in reply.body
    assert record(port, reply.headers["x-fake-request-id"])["outcome"] == "error-event"


def test_h2c_status_fault_with_retry_after_and_slow_headers(port):
    start = time.monotonic()
    reply = h2_request(port, "/v1/chat/completions",
                       {"x-fake-fault": "slow-headers:200,status:429,retry-after:0.2"})
    assert time.monotonic() - start >= 0.19
    assert reply.status == 429 and reply.headers["retry-after"] == "0.2" and reply.ended
    assert reply.headers["content-length"] == str(len(reply.body))
    assert json.loads(reply.body)["error"]["type"] == "rate_limit_error"


def test_h2c_bad_header_is_400(port):
    reply = h2_request(port, "/v1/chat/completions", {"x-fake-tokens": "many"})
    assert reply.status == 400 and b"fake_provider" in reply.body


def test_h2c_nul_token_and_huge_event(port):
    reply = h2_request(port, "/v1/messages", {"x-fake-tokens": "2", "x-fake-fault": "nul-token"})
    assert reply.ended and b"tok1\\u0000x " in reply.body and b"\x00" not in reply.body
    assert "tok2\x00x " in {s for p in payloads(reply.body) for s in strings(p)}
    size = 200_000
    reply = h2_request(port, "/v1/chat/completions", {"x-fake-tokens": "2",
                                                      "x-fake-fault": f"huge-event:{size}"})
    assert reply.ended and max(map(len, reply.frames)) <= 16384
    texts = [list(strings(p)) for p in payloads(reply.body)]
    assert "x" * size in texts[1] and "tok2 " in texts[2]


@pytest.mark.parametrize("fault,expected", [
    ("huge-line:300001", b"a" * 300001),
    ("many-data-lines:5000", (b"data: " + b"x" * 1017 + b"\n") * 5),
], ids=["huge-line", "many-data-lines"])
def test_h2c_huge_line_and_many_data_lines_then_stall_until_the_client_resets(port, fault,
                                                                            expected):
    with H2Client(port) as client:
        stream = client.request("/v1/chat/completions", {"x-fake-fault": fault})
        reply = client.replies[stream]
        while len(reply.body) < len(expected) and client.pump():
            pass
        assert reply.body == expected and not reply.done
        client.quiet_for(0.3)
        request_id = reply.headers["x-fake-request-id"]
        assert record(port, request_id)["outcome"] == "stalled"
        client.cancel(stream)
        entry = record(port, request_id, wait_ms=3000)
    assert entry["outcome"] == "client-disconnected" and entry["disconnected"]


def test_h2c_gzip(port):
    name = next(f for f in FIXTURE_FILES if f.endswith(".sse"))
    reply = h2_request(port, "/v1/chat/completions", {"x-fake-replay": name,
                                                      "x-fake-fault": "gzip"})
    assert reply.ended and reply.headers["content-encoding"] == "gzip"
    assert gzip.decompress(reply.body) == fixture(name)


def test_h2c_cut_mid_line_after_bytes_closes_the_connection(port):
    size = 100_000
    with H2Client(port) as client:
        reply = client.wait(client.request(
            "/v1/chat/completions", {"x-fake-fault": f"cut-mid-line-after-bytes:{size}"}))
        assert client.closed and not reply.ended and reply.reset_code is None
    assert len(reply.body) == size and reply.body.endswith(b"xxxx")
    assert len(payloads(reply.body.rpartition(b"\n")[0])) == 1
    entry = record(port, reply.headers["x-fake-request-id"], wait_ms=3000)
    assert entry["outcome"] == "dropped" and entry["events_sent"] == 1


def test_h2c_request_log_has_the_body_fields(port):
    body = json.dumps({"max_tokens": 1, "prompt": "a\x00" + "z" * 70_000}).encode()
    reply = h2_request(port, "/v1/chat/completions", body=body)
    entry = record(port, reply.headers["x-fake-request-id"])
    assert (entry["body_size"], entry["body_has_nul_escape"]) == (len(body), True)
    assert entry["body"] == body[:65536].decode()


# -- h2c: disconnects, concurrency, flow control -------------------------------------

def test_h2c_client_rst_stream_mid_stream_is_recorded_with_time(port):
    with H2Client(port) as client:
        stream = client.request("/v1/chat/completions", {"x-fake-tokens": "1000",
                                                         "x-fake-rate": "20"})
        reply = client.wait_frames(stream, 2)
        cancelled_ns = time.time_ns()
        client.cancel(stream)
        entry = record(port, reply.headers["x-fake-request-id"], wait_ms=3000)
        # The connection outlives the stream.
        assert client.wait(client.request("/v1/messages", {"x-fake-tokens": "1"})).ended
    assert entry["disconnected"] and entry["outcome"] == "client-disconnected"
    assert cancelled_ns <= entry["disconnected_ns"] <= cancelled_ns + 1_000_000_000
    assert entry["events_sent"] < 1000 and entry["protocol"] == "h2c"


def test_h2c_connection_close_mid_stream_is_recorded(port):
    with H2Client(port) as client:
        reply = client.wait_frames(client.request("/v1/messages", {"x-fake-tokens": "1000",
                                                                   "x-fake-rate": "20"}), 1)
        closed_ns = time.time_ns()
    entry = record(port, reply.headers["x-fake-request-id"], wait_ms=3000)
    assert entry["disconnected"] and entry["outcome"] == "client-disconnected"
    assert closed_ns <= entry["disconnected_ns"] <= closed_ns + 1_000_000_000


def test_h2c_two_concurrent_streams_interleave_on_one_connection(port):
    paced = {"x-fake-tokens": "6", "x-fake-rate": "40"}
    with H2Client(port) as client:
        first = client.request("/v1/chat/completions", paced)
        second = client.request("/v1/messages", paced)
        one, two = client.wait(first, second)
    assert one.ended and two.ended and sse_data(one.body)[-1] == "[DONE]"
    assert b"message_stop" in two.body
    # Interleaved, not one after the other: each stream's first frame arrives before
    # the other one's last.
    last = {s: len(client.order) - 1 - client.order[::-1].index(s) for s in (first, second)}
    assert client.order.index(second) < last[first]
    assert client.order.index(first) < last[second]


def test_h2c_flow_control_waits_for_window_update(port):
    with H2Client(port, window=100) as client:
        stream = client.request("/v1/chat/completions", {"x-fake-tokens": "50"})
        client.wait_frames(stream, 1)
        client.quiet_for(0.3)  # the server stops once 100 bytes are out
        reply = client.replies[stream]
        assert len(reply.body) == 100 and not reply.ended
        entry = record(port, reply.headers["x-fake-request-id"])
        assert entry["outcome"] == "in-progress" and entry["events_sent"] == 0
        client.open_window(stream)
        client.wait(stream)
    assert reply.ended and sse_data(reply.body)[-1] == "[DONE]"
    http1 = request(port, "/v1/chat/completions", {"x-fake-tokens": "50"})
    assert normalize(reply.body) == normalize(http1.body)
    assert record(port, reply.headers["x-fake-request-id"], wait_ms=1000)["outcome"] == "completed"


def test_sigterm_during_an_h2c_stall_sends_goaway_and_exits_zero():
    proc, port = start_server()
    try:
        with H2Client(port) as client:
            client.wait_frames(client.request("/v1/messages", {"x-fake-fault": "stall-after:1"}), 1)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0
            while client.pump():
                pass
            assert client.goaway == h2.errors.ErrorCodes.NO_ERROR
    finally:
        proc.kill() if proc.poll() is None else None
        proc.stdout.close(), proc.stderr.close()


# -- TLS -----------------------------------------------------------------------------

def test_self_signed_cert_is_its_own_ca_for_127_0_0_1_and_localhost(certs):
    text = subprocess.run(["openssl", "x509", "-in", certs[0], "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "CA:TRUE" in text and "IP Address:127.0.0.1" in text and "DNS:localhost" in text


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_tls_alpn_h2_serves_http2(certs, tls_port, hostname):
    with H2Client(tls_port, client_tls(certs[0], ["h2", "http/1.1"]), hostname) as client:
        assert client.sock.selected_alpn_protocol() == "h2"
        reply = client.wait(client.request("/v1/messages", {"x-fake-tokens": "2"}))
    assert reply.ended and b"message_stop" in reply.body
    entry = record_tls(certs, tls_port, reply.headers["x-fake-request-id"])
    assert (entry["protocol"], entry["tls"]) == ("h2", True)


@pytest.mark.parametrize("alpn", [["http/1.1"], []])
def test_tls_alpn_http1_or_none_serves_http1(certs, tls_port, alpn):
    conn = http.client.HTTPSConnection("127.0.0.1", tls_port, timeout=TIMEOUT,
                                       context=client_tls(certs[0], alpn))
    conn.request("POST", "/v1/chat/completions", body=b"{}", headers={"x-fake-tokens": "2"})
    reply = conn.getresponse()
    assert reply.status == 200 and reply.read().endswith(b"data: [DONE]\n\n")
    assert conn.sock.selected_alpn_protocol() == (alpn[0] if alpn else None)
    entry = record_tls(certs, tls_port, reply.headers["x-fake-request-id"])
    assert (entry["protocol"], entry["tls"]) == ("http/1.1", True)


def test_tls_fault_reset_after_on_h2(certs, tls_port):
    with H2Client(tls_port, client_tls(certs[0], ["h2"])) as client:
        reply = client.wait(client.request("/v1/chat/completions",
                                           {"x-fake-fault": "reset-after:2"}))
    assert reply.reset_code == h2.errors.ErrorCodes.INTERNAL_ERROR and len(reply.frames) == 2


def record_tls(certs, port, request_id):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=TIMEOUT,
                                       context=client_tls(certs[0], ["http/1.1"]))
    conn.request("GET", f"/_fake/requests/{request_id}")
    return json.loads(conn.getresponse().read())


# -- retry-after and fail-first --------------------------------------------------------

@pytest.mark.parametrize("fault,status,retry_after", [
    ("status:429,retry-after:0.2", 429, "0.2"),
    ("status:503,retry-after:1", 503, "1"),
    ("status:503", 503, None),
    ("status:429", 429, "2"),
])
def test_retry_after_sets_the_header_of_a_status_fault(port, fault, status, retry_after):
    reply = request(port, "/v1/messages", {"x-fake-fault": fault})
    assert reply.status == status and reply.headers.get("retry-after") == retry_after


@pytest.mark.parametrize("value", ["abc", "-1", "inf", ""])
def test_retry_after_must_be_a_non_negative_number(port, value):
    reply = request(port, "/v1/messages", {"x-fake-fault": f"status:429,retry-after:{value}"})
    assert reply.status == 400 and b"retry-after" in reply.body


def test_fail_first_fails_n_requests_with_a_key_then_streams(port):
    headers = {"x-fake-fault": "status:429,retry-after:0.1,fail-first:2",
               "x-fake-fault-key": "retry-test-1", "x-fake-tokens": "2"}
    replies = [request(port, "/v1/chat/completions", headers) for _ in range(4)]
    assert [r.status for r in replies] == [429, 429, 200, 200]
    assert replies[0].headers["retry-after"] == "0.1" and "retry-after" not in replies[2].headers
    assert replies[2].terminated and sse_data(replies[2].body)[-1] == "[DONE]"
    entries = [record(port, r.headers["x-fake-request-id"]) for r in replies]
    assert [(e["fault_key"], e["attempt"], e["outcome"]) for e in entries] == [
        ("retry-test-1", 1, "status"), ("retry-test-1", 2, "status"),
        ("retry-test-1", 3, "completed"), ("retry-test-1", 4, "completed")]
    # Another key has its own count.
    other = request(port, "/v1/chat/completions", {**headers, "x-fake-fault-key": "retry-test-2"})
    assert other.status == 429


def test_fail_first_keeps_the_other_faults_for_the_later_requests(port):
    headers = {"x-fake-fault": "status:503,fail-first:1,drop-after:1",
               "x-fake-fault-key": "retry-test-3"}
    assert request(port, "/v1/messages", headers).status == 503
    reply = request(port, "/v1/messages", headers)
    assert reply.status == 200 and not reply.terminated and len(reply.chunks) == 1


def test_fail_first_defaults_to_429_and_needs_a_key(port):
    reply = request(port, "/v1/messages", {"x-fake-fault": "fail-first:1",
                                           "x-fake-fault-key": "retry-test-4"})
    assert reply.status == 429 and reply.headers["retry-after"] == "2"
    reply = request(port, "/v1/messages", {"x-fake-fault": "fail-first:1"})
    assert reply.status == 400 and b"x-fake-fault-key" in reply.body


def test_fail_first_counts_across_protocols(port):
    headers = {"x-fake-fault": "status:429,retry-after:0,fail-first:1",
               "x-fake-fault-key": "retry-test-5", "x-fake-tokens": "1"}
    first = h2_request(port, "/v1/messages", headers)
    assert first.status == 429 and first.headers["retry-after"] == "0"
    assert request(port, "/v1/messages", headers).status == 200
