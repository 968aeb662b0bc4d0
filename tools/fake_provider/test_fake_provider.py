"""Tests for the fake provider: a real server subprocess on loopback, plain sockets and
http.client as clients. Every network wait is bounded by a socket timeout."""
import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zlib

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "fake_provider.py")
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(HERE)),
                        "Tests", "TokenwireUpstreamTests", "Fixtures")
FIXTURE_FILES = sorted(f for f in os.listdir(FIXTURES) if f.endswith((".sse", ".ndjson")))
TIMEOUT = 5.0
ALL_ROUTES = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v2/chat",
              "/api/chat", "/generate_stream",
              "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"]

sys.path.insert(0, HERE)
from fake_provider import split_lines, split_sse_events  # noqa: E402


def start_server():
    proc = subprocess.Popen([sys.executable, SCRIPT, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the server prints it once bound; dies on error
    assert line.startswith("listening 127.0.0.1:"), (line, proc.stderr.read())
    return proc, int(line.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def port():
    proc, port = start_server()
    yield port
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=TIMEOUT) == 0


class Response:
    def __init__(self, status, headers, chunks, terminated, error=None):
        self.status, self.headers, self.chunks = status, headers, chunks
        self.terminated, self.error = terminated, error  # terminated: saw the 0-size chunk

    @property
    def body(self):
        return b"".join(self.chunks)


def send(port, path, headers=None, body=b"{}", method="POST"):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    lines = [f"{method} {path} HTTP/1.1", "Host: fake", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


class Reader:
    """Raw HTTP/1.1 response reader that keeps the chunk boundaries."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def until(self, sep):
        while sep not in self.buf:
            self.more()
        head, _, self.buf = self.buf.partition(sep)
        return head

    def exactly(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self):
        lines = self.until(b"\r\n\r\n").decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        return int(lines[0].split()[1]), headers

    def chunk(self):
        size = int(self.until(b"\r\n"), 16)
        data = self.exactly(size + 2)[:-2]
        return data


def read_response(sock, max_chunks=None):
    """Read a whole response; a connection that ends mid-body is recorded, not raised."""
    reader = Reader(sock)
    status, headers = reader.head()
    if "content-length" in headers:
        return Response(status, headers, [reader.exactly(int(headers["content-length"]))], True)
    chunks = []
    try:
        while max_chunks is None or len(chunks) < max_chunks:
            data = reader.chunk()
            if not data:
                return Response(status, headers, chunks, True)
            chunks.append(data)
    except (EOFError, ConnectionResetError) as error:
        return Response(status, headers, chunks, False, error)
    return Response(status, headers, chunks, False)


def request(port, path, headers=None, body=b"{}", method="POST"):
    with send(port, path, headers, body, method) as sock:
        return read_response(sock)


def record(port, request_id, wait_ms=0, query=""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT + wait_ms / 1000)
    conn.request("GET", f"/_fake/requests/{request_id}?wait_ms={wait_ms}{query}")
    reply = conn.getresponse()
    assert reply.status == 200
    return json.loads(reply.read())


def sse_data(body):
    """The data payloads of a well-framed LF stream, in order."""
    return [line[len("data: "):] for line in body.decode().split("\n")
            if line.startswith("data: ")]


def payloads(body):
    """The parsed JSON of every SSE data line (`data:` or `data: `, LF or CRLF) or NDJSON
    line of a stream, in order; `[DONE]` is skipped."""
    out = []
    for line in body.splitlines():
        if line.startswith(b"data:"):
            line = line[len(b"data:"):].removeprefix(b" ")
        elif not line.startswith(b"{"):
            continue
        if line != b"[DONE]":
            out.append(json.loads(line))
    return out


def strings(value):
    """Every string value inside a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def read_body_bytes(reader, count):
    """Read HTTP/1.1 chunks until at least `count` body bytes have come; the chunks."""
    chunks, total = [], 0
    while total < count:
        chunks.append(reader.chunk())
        assert chunks[-1], "the body ended early"
        total += len(chunks[-1])
    return chunks


def assert_silent(sock, reader, seconds=0.3):
    sock.settimeout(seconds)
    with pytest.raises(socket.timeout):
        reader.more()
    assert reader.buf == b""
    sock.settimeout(TIMEOUT)


def high_water_kib(pid):
    """Peak resident memory (VmHWM) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


# -- basics -------------------------------------------------------------------------

def test_health_returns_ok(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/_fake/health")
    reply = conn.getresponse()
    assert (reply.status, reply.read()) == (200, b"ok")


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_replay_returns_fixture_byte_for_byte_one_event_per_chunk(port, name):
    with open(os.path.join(FIXTURES, name), "rb") as file:
        expected = file.read()
    reply = request(port, "/v1/chat/completions", {"x-fake-replay": name})
    assert reply.status == 200 and reply.terminated
    assert reply.body == expected
    split = split_lines if name.endswith(".ndjson") else split_sse_events
    assert reply.chunks == split(expected)


def test_replay_with_chunk_bytes_is_byte_exact_in_fixed_chunks(port):
    name = "gemini-thought-functioncall-crlf.sse"
    with open(os.path.join(FIXTURES, name), "rb") as file:
        expected = file.read()
    reply = request(port, "/v1beta/models/g:streamGenerateContent?alt=sse",
                    {"x-fake-replay": name, "x-fake-chunk-bytes": "7"})
    assert reply.body == expected
    assert all(len(c) == 7 for c in reply.chunks[:-1]) and 0 < len(reply.chunks[-1]) <= 7


def test_replay_unknown_fixture_is_400(port):
    reply = request(port, "/v1/messages", {"x-fake-replay": "../Package.swift"})
    assert reply.status == 400 and b"fake_provider" in reply.body


def test_synthetic_openai_chat_five_tokens_ends_with_usage_and_done(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "5"})
    assert reply.status == 200 and reply.terminated
    assert reply.headers["content-type"] == "text/event-stream"
    data = sse_data(reply.body)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "tok1 tok2 tok3 tok4 tok5 "
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5


def test_synthetic_token_count_defaults_to_max_tokens_and_finishes_length(port):
    reply = request(port, "/v1/chat/completions", body=b'{"max_tokens":3}')
    chunks = [json.loads(d) for d in sse_data(reply.body)[:-1]]
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


def test_pieces_are_the_tokens_and_a_smaller_limit_cuts_them_with_length(port):
    pieces = json.dumps(['{"a": ', '"x\\"y"', ', "b": [1', ', 2]}'])
    reply = request(port, "/v1/chat/completions", {"x-fake-pieces": pieces})
    chunks = [json.loads(d) for d in sse_data(reply.body)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == '{"a": "x\\"y", "b": [1, 2]}' and json.loads(text) == {"a": 'x"y', "b": [1, 2]}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    cut = request(port, "/v1/chat/completions", {"x-fake-pieces": pieces}, body=b'{"max_tokens":2}')
    chunks = [json.loads(d) for d in sse_data(cut.body)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == '{"a": "x\\"y"' and chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert request(port, "/v1/chat/completions", {"x-fake-pieces": '{"not": "a list"}'}).status == 400


def test_synthetic_anthropic_has_message_start_to_message_stop(port):
    reply = request(port, "/v1/messages", {"x-fake-tokens": "4"})
    events = [block.split("\n") for block in reply.body.decode().split("\n\n") if block]
    names = [lines[0][len("event: "):] for lines in events]
    assert names == ["message_start", "content_block_start", "ping"] + \
        ["content_block_delta"] * 4 + ["content_block_stop", "message_delta", "message_stop"]
    delta = json.loads(events[-2][1][len("data: "):])
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] == 4


@pytest.mark.parametrize("path,content_type,terminator", [
    ("/v1/responses", "text/event-stream", b"event: response.completed\n"),
    ("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "text/event-stream",
     b'"finishReason":"STOP"'),
    ("/v2/chat", "text/event-stream", b'"finish_reason":"COMPLETE"'),
    ("/api/chat", "application/x-ndjson", b'"done":true'),
    ("/generate_stream", "text/event-stream", b'"finish_reason":"eos_token"'),
])
def test_synthetic_other_dialects_stream_tokens_and_finish(port, path, content_type, terminator):
    reply = request(port, path, {"x-fake-tokens": "3"})
    assert reply.status == 200 and reply.terminated
    assert reply.headers["content-type"] == content_type
    assert b"tok1 " in reply.body and b"tok3 " in reply.body and terminator in reply.body


def test_gemini_without_alt_sse_is_400(port):
    assert request(port, "/v1beta/models/g:streamGenerateContent").status == 400


def test_keep_alive_serves_two_requests_on_one_connection(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    for _ in range(2):
        conn.request("POST", "/v1/chat/completions", body=b"{}", headers={"x-fake-tokens": "2"})
        reply = conn.getresponse()
        assert reply.status == 200 and reply.read().endswith(b"data: [DONE]\n\n")
    conn.close()


def test_stamp_puts_send_time_in_each_token(port):
    before = time.time_ns()
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "3", "x-fake-stamp": "1"})
    after = time.time_ns()
    texts = [json.loads(d)["choices"][0]["delta"]["content"]
             for d in sse_data(reply.body)[1:4]]
    for k, text in enumerate(texts, 1):
        name, _, stamp = text.rstrip(" ").partition("@")
        assert name == f"tok{k}" and before <= int(stamp) <= after


def test_rate_paces_tokens(port):
    start = time.monotonic()
    request(port, "/v1/chat/completions", {"x-fake-tokens": "6", "x-fake-rate": "50"})
    assert time.monotonic() - start >= 5 / 50 * 0.9


def test_steady_pacing_paces_tokens(port):
    start = time.monotonic()
    reply = request(port, "/v1/chat/completions",
                    {"x-fake-tokens": "6", "x-fake-rate": "50", "x-fake-pacing": "steady"})
    assert reply.status == 200 and len(sse_data(reply.body)) >= 6
    assert time.monotonic() - start >= 5 / 50 * 0.9


def test_unknown_pacing_is_refused_naming_the_choices(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-rate": "50", "x-fake-pacing": "burst"})
    assert reply.status == 400
    assert b"x-fake-pacing must be 'schedule' or 'steady'" in reply.body


# -- faults -------------------------------------------------------------------------

def test_drop_after_closes_connection_before_terminator(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "5",
                                                   "x-fake-fault": "drop-after:2"})
    assert reply.status == 200 and not reply.terminated and isinstance(reply.error, EOFError)
    assert len(reply.chunks) == 2 and b"[DONE]" not in reply.body
    assert record(port, reply.headers["x-fake-request-id"])["outcome"] == "dropped"


def test_reset_after_ends_connection_without_terminator(port):
    reply = request(port, "/v1/messages", {"x-fake-fault": "reset-after:1"})
    assert not reply.terminated and b"message_stop" not in reply.body


def test_stall_after_keeps_connection_open_and_silent(port):
    with send(port, "/v1/chat/completions", {"x-fake-fault": "stall-after:2"}) as sock:
        reader = Reader(sock)
        _, headers = reader.head()
        assert reader.chunk() and reader.chunk()
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            reader.more()
        assert record(port, headers["x-fake-request-id"])["outcome"] == "stalled"
    gone = record(port, headers["x-fake-request-id"], wait_ms=3000)
    assert gone["disconnected"] and gone["events_sent"] == 2


def test_malformed_json_after_corrupts_exactly_the_next_event(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "3",
                                                   "x-fake-fault": "malformed-json-after:1"})
    valid = []
    for data in sse_data(reply.body)[:-1]:
        try:
            json.loads(data)
            valid.append(True)
        except ValueError:
            valid.append(False)
    assert valid == [True, False] + [True] * (len(valid) - 2)
    assert reply.terminated and sse_data(reply.body)[-1] == "[DONE]"


def test_split_utf8_splits_characters_across_chunks_that_reassemble(port):
    reply = request(port, "/v1/messages", {"x-fake-tokens": "2", "x-fake-fault": "split-utf8"})
    broken = 0
    for chunk in reply.chunks:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    assert broken >= 4  # each token event arrives in two undecodable halves
    body = reply.body.decode("utf-8")
    assert "tok1é " in body and "tok2😈 " in body


@pytest.mark.parametrize("path,error_type", [
    ("/v1/chat/completions", lambda b: b["error"]["type"]),
    ("/v1/messages", lambda b: b["type"] == "error" and b["error"]["type"]),
])
def test_status_429_has_retry_after_and_provider_error_body(port, path, error_type):
    reply = request(port, path, {"x-fake-fault": "status:429"})
    assert reply.status == 429 and reply.headers["retry-after"] == "2"
    assert error_type(json.loads(reply.body)) == "rate_limit_error"


@pytest.mark.parametrize("status", [500, 401, 404])
def test_status_faults_return_that_status_with_json_error(port, status):
    reply = request(port, "/v1/messages", {"x-fake-fault": f"status:{status}"})
    assert reply.status == status and json.loads(reply.body)["type"] == "error"
    assert "retry-after" not in reply.headers


def test_slow_headers_delays_the_response_head(port):
    start = time.monotonic()
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "1",
                                                   "x-fake-fault": "slow-headers:300"})
    assert reply.status == 200 and time.monotonic() - start >= 0.29


def test_error_after_sends_openai_error_event_without_done(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-fault": "error-after:2"})
    data = sse_data(reply.body)
    assert len(data) == 3 and "[DONE]" not in data
    assert json.loads(data[-1])["error"]["type"] == "server_error"


def test_error_after_sends_anthropic_overloaded_error_event(port):
    reply = request(port, "/v1/messages", {"x-fake-fault": "error-after:3"})
    last = reply.body.decode().rstrip("\n").split("\n")
    assert last[-2] == "event: error"
    assert json.loads(last[-1][len("data: "):])["error"]["type"] == "overloaded_error"
    assert b"message_stop" not in reply.body


# -- disconnect recording -------------------------------------------------------------

def test_client_closing_mid_stream_is_recorded_with_time(port):
    with send(port, "/v1/chat/completions", {"x-fake-tokens": "1000", "x-fake-rate": "20"}) \
            as sock:
        reader = Reader(sock)
        _, headers = reader.head()
        reader.chunk()
        closed_ns = time.time_ns()
    request_id = headers["x-fake-request-id"]
    entry = record(port, request_id, wait_ms=3000)
    assert entry["disconnected"] and entry["outcome"] == "client-disconnected"
    assert closed_ns <= entry["disconnected_ns"] <= closed_ns + 2_000_000_000
    assert entry["events_sent"] < 1000
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/_fake/requests")
    listed = {r["id"]: r for r in json.loads(conn.getresponse().read())}
    assert listed[request_id]["disconnected"] is True


def test_completed_stream_is_not_recorded_as_disconnected(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "2"})
    entry = record(port, reply.headers["x-fake-request-id"], wait_ms=1000)
    assert entry["outcome"] == "completed" and not entry["disconnected"]


def test_wait_events_returns_once_that_many_events_are_out(port):
    with send(port, "/v1/chat/completions",
              {"x-fake-tokens": "1000", "x-fake-rate": "20", "x-fake-request-id": "events-3"}) as sock:
        Reader(sock).head()
        entry = record(port, "events-3", wait_ms=20_000, query="&wait_events=3")
        # 20 tokens/s: the whole stream takes 50 s, so the wait ended on the count.
        assert entry["outcome"] == "in-progress" and entry["events_sent"] >= 3


def test_wait_blocked_returns_once_a_client_that_stopped_reading_holds_a_write_back(port):
    with send(port, "/v1/chat/completions",
              {"x-fake-tokens": "2000000", "x-fake-request-id": "blocked"}) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        Reader(sock).head()
        entry = record(port, "blocked", wait_ms=20_000, query="&wait_blocked_ms=300")
        assert entry["outcome"] == "in-progress"
        assert 0 < entry["events_sent"] < 2_000_000


def test_wait_blocked_returns_when_the_response_is_over_instead(port):
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "3", "x-fake-request-id": "done-3"})
    assert reply.terminated
    entry = record(port, "done-3", wait_ms=20_000, query="&wait_blocked_ms=300")
    assert entry["outcome"] == "completed" and entry["events_sent"] > 3


def test_wait_for_a_request_not_yet_made_returns_once_it_arrives(port):
    import threading
    entries = []
    waiter = threading.Thread(target=lambda: entries.append(
        record(port, "not-yet", wait_ms=20_000, query="&wait_events=1")))
    waiter.start()
    time.sleep(0.2)  # the waiter asks first; the test does not depend on how long it waits
    with send(port, "/v1/chat/completions",
              {"x-fake-tokens": "1000", "x-fake-rate": "20", "x-fake-request-id": "not-yet"}) as sock:
        Reader(sock).head()
        waiter.join(timeout=TIMEOUT + 20)
    assert entries and entries[0]["id"] == "not-yet" and entries[0]["events_sent"] >= 1


def test_unknown_id_is_404_after_its_wait(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/_fake/requests/never-made?wait_ms=100")
    assert conn.getresponse().status == 404


def test_wait_with_a_bad_number_is_400(port):
    request(port, "/v1/messages", {"x-fake-request-id": "bad-wait", "x-fake-tokens": "1"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/_fake/requests/bad-wait?wait_ms=10&wait_events=x")
    assert conn.getresponse().status == 400


def test_client_chosen_request_id_is_used(port):
    reply = request(port, "/v1/messages", {"x-fake-request-id": "mine-1", "x-fake-tokens": "1"})
    assert reply.headers["x-fake-request-id"] == "mine-1"
    assert record(port, "mine-1")["dialect"] == "anthropic"


def test_sigterm_during_a_stall_exits_zero():
    proc, port = start_server()
    try:
        with send(port, "/v1/chat/completions", {"x-fake-fault": "stall-after:1"}) as sock:
            reader = Reader(sock)
            reader.head()
            reader.chunk()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=TIMEOUT) == 0
    finally:
        proc.kill() if proc.poll() is None else None
        proc.stdout.close(), proc.stderr.close()


# -- nul-token, huge-line, huge-event, many-data-lines, gzip, cut-mid-line ------------

@pytest.mark.parametrize("path", ALL_ROUTES)
def test_nul_token_puts_an_escaped_nul_in_every_token(port, path):
    reply = request(port, path, {"x-fake-tokens": "3", "x-fake-fault": "nul-token"})
    assert reply.status == 200 and reply.terminated
    assert b"\x00" not in reply.body  # written as the JSON escape, never raw
    for k in (1, 2, 3):
        assert f"tok{k}\\u0000x ".encode() in reply.body
    texts = {text for payload in payloads(reply.body) for text in strings(payload)}
    assert {"tok1\x00x ", "tok2\x00x ", "tok3\x00x "} <= texts


def test_nul_token_leaves_a_replay_unchanged(port):
    name = FIXTURE_FILES[0]
    with open(os.path.join(FIXTURES, name), "rb") as file:
        expected = file.read()
    reply = request(port, "/v1/chat/completions", {"x-fake-replay": name,
                                                   "x-fake-fault": "nul-token"})
    assert reply.body == expected


def test_huge_line_sends_bytes_without_a_line_end_then_stalls(port):
    size = 1_000_003
    with send(port, "/v1/chat/completions", {"x-fake-fault": f"huge-line:{size}"}) as sock:
        reader = Reader(sock)
        status, headers = reader.head()
        assert status == 200 and headers["content-type"] == "text/event-stream"
        chunks = read_body_bytes(reader, size)
        assert b"".join(chunks) == b"a" * size
        assert max(map(len, chunks)) == 65536
        assert_silent(sock, reader)
        request_id = headers["x-fake-request-id"]
        entry = record(port, request_id)
        assert entry["outcome"] == "stalled" and entry["events_sent"] == 0
    gone = record(port, request_id, wait_ms=3000)
    assert gone["outcome"] == "client-disconnected" and gone["disconnected"]


@pytest.mark.parametrize("path", ALL_ROUTES)
def test_huge_event_is_one_framed_event_and_the_rest_is_normal(port, path):
    size = 200_000
    reply = request(port, path, {"x-fake-tokens": "3", "x-fake-fault": f"huge-event:{size}"})
    assert reply.status == 200 and reply.terminated
    assert max(map(len, reply.chunks)) == 65536
    texts = [list(strings(payload)) for payload in payloads(reply.body)]
    first = next(i for i, strs in enumerate(texts) if "x" * size in strs)
    assert not any(s.startswith("tok") for strs in texts[:first] for s in strs)
    later = {s for strs in texts[first + 1:] for s in strs}
    assert {"tok2 ", "tok3 "} <= later
    assert b"tok1" not in reply.body


def test_huge_event_of_110_mb_keeps_the_server_memory_bounded():
    proc, port = start_server()
    try:
        size = 110_000_000
        with send(port, "/v1/chat/completions",
                  {"x-fake-tokens": "2", "x-fake-fault": f"huge-event:{size}"}) as sock:
            reader = Reader(sock)
            assert reader.head()[0] == 200
            total = xs = largest = 0
            while data := reader.chunk():
                total, xs, largest = total + len(data), xs + data.count(b"x"), max(largest,
                                                                                  len(data))
        assert total > size and xs >= size and largest == 65536
        assert high_water_kib(proc.pid) < 64 * 1024  # far below the 110 MB it sent
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=TIMEOUT)
        proc.stdout.close(), proc.stderr.close()


def test_many_data_lines_sends_one_unended_event_of_1_kib_lines_then_stalls(port):
    size = 300_000
    lines = -(-size // 1024)
    with send(port, "/v1/messages", {"x-fake-fault": f"many-data-lines:{size}"}) as sock:
        reader = Reader(sock)
        _, headers = reader.head()
        chunks = read_body_bytes(reader, lines * 1024)
        assert max(map(len, chunks)) == 65536
        body = b"".join(chunks)
        assert body == (b"data: " + b"x" * 1017 + b"\n") * lines
        assert_silent(sock, reader)
        request_id = headers["x-fake-request-id"]
        assert record(port, request_id)["outcome"] == "stalled"
    assert record(port, request_id, wait_ms=3000)["outcome"] == "client-disconnected"


@pytest.mark.parametrize("path,headers", [
    ("/api/chat", {"x-fake-fault": "many-data-lines:1000"}),
    ("/v1/chat/completions", {"x-fake-fault": "huge-line:-1"}),
    ("/v1/chat/completions", {"x-fake-fault": "huge-event:lots"}),
    ("/v1/chat/completions", {"x-fake-fault": "huge-line:10,many-data-lines:10"}),
    ("/v1/chat/completions", {"x-fake-fault": "cut-mid-line-after-bytes:0"}),
    ("/v1/chat/completions", {"x-fake-fault": "huge-event:10",
                              "x-fake-replay": FIXTURE_FILES[0]}),
])
def test_bad_uses_of_the_size_faults_are_400(port, path, headers):
    reply = request(port, path, headers)
    assert reply.status == 400 and b"fake_provider" in reply.body


def test_gzip_compresses_a_replay_and_every_chunk_decompresses_at_once(port):
    name = next(f for f in FIXTURE_FILES if f.endswith(".sse"))
    with open(os.path.join(FIXTURES, name), "rb") as file:
        expected = file.read()
    reply = request(port, "/v1/chat/completions", {"x-fake-replay": name, "x-fake-fault": "gzip"})
    assert reply.status == 200 and reply.terminated
    assert reply.headers["content-encoding"] == "gzip"
    assert gzip.decompress(reply.body) == expected
    decompressor = zlib.decompressobj(wbits=31)
    parts = [decompressor.decompress(chunk) for chunk in reply.chunks]
    assert parts[:-1] == split_sse_events(expected) and parts[-1] == b""
    assert decompressor.eof


def test_gzip_compresses_a_synthetic_stream_and_combines_with_drop_after(port):
    reply = request(port, "/api/chat", {"x-fake-tokens": "3", "x-fake-fault": "gzip"})
    assert reply.headers["content-encoding"] == "gzip"
    assert [p["message"]["content"] for p in payloads(gzip.decompress(reply.body))] == \
        ["tok1 ", "tok2 ", "tok3 ", ""]
    reply = request(port, "/v1/messages", {"x-fake-fault": "gzip,drop-after:2"})
    assert not reply.terminated and len(reply.chunks) == 2
    text = zlib.decompressobj(wbits=31).decompress(reply.body)
    assert text.startswith(b"event: message_start") and text.endswith(b"\n\n")


@pytest.mark.parametrize("path,size", [("/v1/chat/completions", 5000), ("/api/chat", 5000),
                                       ("/v1/messages", 10), ("/v1/responses", 1_000_000)])
def test_cut_mid_line_after_bytes_closes_after_exactly_n_body_bytes(port, path, size):
    reply = request(port, path, {"x-fake-fault": f"cut-mid-line-after-bytes:{size}"})
    assert reply.status == 200 and not reply.terminated and isinstance(reply.error, EOFError)
    assert len(reply.body) == size and max(map(len, reply.chunks)) <= 65536
    head, _, line = reply.body.rpartition(b"\n")
    prefix = b'{"pad":"' if path == "/api/chat" else b'data: {"pad":"'
    assert line == (prefix + b"x" * len(line))[:len(line)]  # the unfinished last line
    entry = record(port, reply.headers["x-fake-request-id"], wait_ms=3000)
    assert entry["outcome"] == "dropped" and not entry["disconnected"]
    if size >= 1000:  # room for one whole first event before the cut line
        assert entry["events_sent"] == 1 and len(payloads(head + b"\n")) == 1
    else:
        assert entry["events_sent"] == 0 and reply.body == prefix[:size]


def test_request_log_has_the_body_its_size_and_whether_it_escapes_a_nul(port):
    body = json.dumps({"prompt": "é\x00" + "y" * 100_000}, ensure_ascii=False).encode()
    assert b"\\u0000" in body and len(body) > 65536
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "1"}, body=body)
    entry = record(port, reply.headers["x-fake-request-id"])
    assert entry["body_size"] == len(body) and entry["body_has_nul_escape"] is True
    assert entry["body"] == body[:65536].decode("utf-8", "replace")
    reply = request(port, "/v1/messages", {"x-fake-tokens": "1"}, body=b'{"max_tokens":1}')
    entry = record(port, reply.headers["x-fake-request-id"])
    assert (entry["body_size"], entry["body_has_nul_escape"], entry["body"]) == \
        (16, False, '{"max_tokens":1}')


def test_request_log_has_the_trace_context_headers_or_null(port):
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "1", "traceparent": parent, "tracestate": "vendor=1"})
    entry = record(port, reply.headers["x-fake-request-id"])
    assert (entry["traceparent"], entry["tracestate"]) == (parent, "vendor=1")
    reply = request(port, "/v1/chat/completions", {"x-fake-tokens": "1"})
    entry = record(port, reply.headers["x-fake-request-id"])
    assert (entry["traceparent"], entry["tracestate"]) == (None, None)
