#!/usr/bin/env python3
"""A stock gRPC client (grpcio, i.e. gRPC C-core) that the loopback integration tests
run against a real Tokenwire server.

Usage:
    python3 Tests/Interop/grpcio_client.py --target 127.0.0.1:PORT CASE [--n N]

Cases:
    generate       Generate on synthetic/flood, max_tokens N (default 10000): every frame
                   is checked in order (start, N text, finish), then status OK.
    complete       Complete on synthetic/flood, max_tokens N (default 100).
    unknown-model  Generate and Complete on "nope/none" end with NOT_FOUND and a message.
    health         grpc.health.v1.Health: Check "" and "tokenwire.v1.TokenStream" are
                   SERVING, Check "no.such.Service" is NOT_FOUND, Watch "" first says SERVING.
    cancel         Generate with max_tokens 100000000, read 100 frames, cancel: the call ends
                   CANCELLED, and a new call on the same channel still succeeds.
    deadline       Generate on synthetic/paced, max_tokens 1000, 10 s deadline: the start
                   frame arrives, then DEADLINE_EXCEEDED.
    batch          GenerateBatch of N items (default 200) at max_concurrency 16: item k is
                   synthetic/flood with max_tokens 1 + k % 50, except every tenth, which
                   names an unknown model. seq runs 1, 2, 3, ... over the whole call; each
                   item's frames are its start, its words in order and its finish, or its
                   start and an ItemError with NOT_FOUND; then status OK.
    resume         Generate on synthetic/paced (max_tokens 100000) through a TCP proxy of its
                   own; after 10 frames the proxy closes both sockets (a dropped connection,
                   not a cancel): the call ends UNAVAILABLE. A new channel straight to the
                   server resumes with start.resume_token and the last seq read, reads 50
                   frames and cancels: seq runs on without a gap or a duplicate and every
                   frame is the one an uncut stream has there. A call with the metadata
                   tokenwire-resume: off gets a StreamStart without a resume token.
    tls            Over the channel the TLS options make (--tls-ca, with --tls-cert and
                   --tls-key for mutual TLS, with --token as grpcio call credentials):
                   Generate on synthetic/flood with N tokens (default 100) is whole and OK,
                   and Health Check "" (no token needed) is SERVING.
    tls-refused    Over a TLS channel without a client certificate to a server that
                   requires one: Generate ends UNAVAILABLE (the handshake is refused).
    auth           Over cleartext to a server with --auth-tokens, --token being a valid
                   token: no authorization metadata, a wrong token and a non-Bearer scheme
                   each get UNAUTHENTICATED with a message saying which; Health Check needs
                   no token; the valid token gets the whole stream.
    reflection     grpcio-reflection's ProtoReflectionDescriptorDatabase (v1alpha) lists the
                   services; a descriptor pool built from the server's answers alone (no
                   proto file) makes a GenerateRequest for synthetic/flood with N tokens
                   (default 30) and decodes the stream's frames. Then one
                   grpc.reflection.v1 stream carries three requests (list services, the
                   file of tokenwire.v1.TokenStream.Generate, an unknown symbol) and gets
                   three answers in order, the last an error_response NOT_FOUND.
    relay          Runs the calls listed in the JSON file --calls (a list of
                   {"method": "Generate"|"Complete", "model": ..., "metadata": {...},
                   "max_tokens": N, "response_format": {protobuf JSON}, "request": {protobuf JSON
                   of any GenerateRequest fields, merged}) and
                   prints every frame (or the completion) and the final status of each, for
                   the Swift test that started it to compare with what the upstream sent.

Python stubs are generated at startup with grpc_tools.protoc from the repository's own
proto files (proto/tokenwire/v1/*.proto and proto/grpc/health/v1/health.proto, the
repository root being two directories above this file) into a temporary directory that
is removed on exit. No generated Python is committed.

Output: one JSON summary line on stdout. Each failed check goes to stderr as one line
saying what was expected and what arrived.

Exit status:
    0  every check passed
    1  a check failed (including: the server could not be reached)
    2  usage or setup error (bad arguments, a proto file missing or not compilable)
    3  grpcio or grpcio-tools is not installed
"""

import argparse
import glob
import importlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import types

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(REPO_ROOT, "proto")
TOKENWIRE_PROTO = os.path.join(PROTO_ROOT, "tokenwire", "v1", "tokenwire.proto")
HEALTH_PROTO = os.path.join(PROTO_ROOT, "grpc", "health", "v1", "health.proto")

VOCAB = ["the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog "]
FLOOD_MODEL = "synthetic/flood"
PACED_MODEL = "synthetic/paced"
SYNTHETIC_PROVIDER = "synthetic"
UNKNOWN_MODEL = "nope/none"
SERVICE_NAME = "tokenwire.v1.TokenStream"
UNKNOWN_SERVICE_NAME = "no.such.Service"

DEFAULT_N = {"generate": 10000, "complete": 100, "batch": 200, "gzip": 50, "tls": 100, "auth": 20, "reflection": 30}
BATCH_CONCURRENCY = 16
GRPC_NOT_FOUND = 5
CANCEL_MAX_TOKENS = 100_000_000
CANCEL_AFTER_FRAMES = 100
# grpcio buffers at most one message ahead of the reader, so a cancelled stream may hand
# out a frame or two before it raises; anything near this many means cancel did nothing.
CANCEL_DRAIN_LIMIT = 1000
# Long enough for the connection and the first frame on a loaded machine; the paced
# stream (DEADLINE_MAX_TOKENS at 50 tokens/s, 20 s) outlasts it.
DEADLINE_SECONDS = 10.0
DEADLINE_MAX_TOKENS = 1000

OVERALL_TIMEOUT_SECONDS = 60.0
# gRPC core's default (GRPC_DEFAULT_MAX_RECV_MESSAGE_LENGTH), set explicitly so that the
# test does not silently change if a grpcio release changes the default.
MAX_RECEIVE_MESSAGE_LENGTH = 4 * 1024 * 1024
MAX_REPORTED_FAILURES = 10

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_SETUP = 2
EXIT_NO_GRPCIO = 3

GRPCIO_MISSING_MESSAGE = (
    "grpcio is not installed: run `pip install grpcio grpcio-tools` "
    "(tools/bootstrap.sh does this)"
)

# Bound by load_grpcio() after the arguments are parsed, so that --help works without grpcio.
grpc = None
protoc = None
text_format = None


class SetupError(Exception):
    """The client could not get ready to test: a proto file is missing or does not compile."""


# --------------------------------------------------------------------------- setup


def load_grpcio():
    global grpc, protoc, text_format
    try:
        import grpc as grpc_module
        from google.protobuf import text_format as text_format_module
        from grpc_tools import protoc as protoc_module
    except ImportError as error:
        sys.stderr.write(f"{GRPCIO_MISSING_MESSAGE}\n(import failed: {error})\n")
        sys.exit(EXIT_NO_GRPCIO)
    grpc, protoc, text_format = grpc_module, protoc_module, text_format_module


def run_protoc(out_dir, include_dir, proto_files):
    # protoc needs the well-known types (google/protobuf/*.proto) that grpc_tools ships.
    well_known_dir = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    relative = [os.path.relpath(path, include_dir) for path in proto_files]
    arguments = [
        "grpc_tools.protoc",
        f"--proto_path={include_dir}",
        f"--proto_path={well_known_dir}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *relative,
    ]
    sys.stderr.flush()
    status = protoc.main(arguments)
    if status != 0:
        raise SetupError(
            f"grpc_tools.protoc failed (exit {status}) on {', '.join(relative)} "
            f"with --proto_path={include_dir}; its errors are above"
        )


def import_generated(name):
    try:
        return importlib.import_module(name)
    except Exception as error:  # a version check or descriptor error in generated code
        raise SetupError(f"could not import generated module {name}: {error}") from error


def generate_tokenwire_stubs(out_dir):
    if not os.path.isfile(TOKENWIRE_PROTO):
        raise SetupError(f"the wire contract is missing: expected {TOKENWIRE_PROTO}")
    # Every file of the package, so that tokenwire.proto may import its siblings.
    protos = sorted(glob.glob(os.path.join(os.path.dirname(TOKENWIRE_PROTO), "*.proto")))
    run_protoc(out_dir, PROTO_ROOT, protos)
    return types.SimpleNamespace(
        messages=import_generated("tokenwire.v1.tokenwire_pb2"),
        services=import_generated("tokenwire.v1.tokenwire_pb2_grpc"),
    )


def generate_health_stubs(out_dir):
    if not os.path.isfile(HEALTH_PROTO):
        raise SetupError(f"the health-check contract is missing: expected {HEALTH_PROTO}")
    # Compiled from its own directory: as grpc/health/v1/health_pb2 the module would be
    # looked up inside the installed `grpc` package and not be found.
    run_protoc(out_dir, os.path.dirname(HEALTH_PROTO), [HEALTH_PROTO])
    return types.SimpleNamespace(
        messages=import_generated("health_pb2"),
        services=import_generated("health_pb2_grpc"),
    )


# --------------------------------------------------------------------------- checking


class Report:
    """Collects the failed checks of one case and renders them for stderr."""

    def __init__(self, case):
        self.case = case
        self.failures = []
        self.stopped_reading_after = None

    @property
    def passed(self):
        return not self.failures

    def fail(self, message):
        self.failures.append(message)

    def expect_equal(self, what, expected, actual):
        if expected != actual:
            self.fail(f"{what}: expected {expected!r}, got {actual!r}")

    def write_failures(self, stream):
        for message in self.failures[:MAX_REPORTED_FAILURES]:
            stream.write(f"grpcio_client {self.case}: FAIL: {message}\n")
        hidden = len(self.failures) - MAX_REPORTED_FAILURES
        if hidden > 0:
            stream.write(f"grpcio_client {self.case}: ... and {hidden} more failed checks\n")
        if self.stopped_reading_after is not None:
            stream.write(
                f"grpcio_client {self.case}: stopped reading the stream after "
                f"{self.stopped_reading_after} frames because of the failures above\n"
            )


class Budget:
    """The case's overall time limit, handed out as per-call timeouts."""

    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def timeout(self, cap=None):
        remaining = max(0.001, self.deadline - time.monotonic())
        return remaining if cap is None else min(remaining, cap)


def describe_frame(frame):
    text = text_format.MessageToString(frame, as_one_line=True)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{{{text}}}"


def describe_rpc_error(error, target):
    code = error.code()
    name = code.name if code is not None else "no status"
    description = f"{name} {error.details()!r}"
    if code is grpc.StatusCode.UNAVAILABLE:
        description += f" (is a Tokenwire server listening on {target}?)"
    return description


def status_name(call):
    code = call.code()
    return code.name if code is not None else "none"


def flood_frame_problems(frame, position, max_tokens):
    """What is wrong with the frame at 1-based position of a synthetic/flood Generate.

    Frame seq 1 is the start, seqs 2..N+1 are the vocabulary words in turn, seq N+2 is
    the finish with reason "length" and N output tokens. Every frame has index 0.
    """
    problems = []
    where = f"frame {position}"
    if frame.seq != position:
        problems.append(f"{where}: expected seq {position}, got seq {frame.seq} in {describe_frame(frame)}")
    if frame.index != 0:
        problems.append(f"{where}: expected index 0, got index {frame.index}")
    kind = frame.WhichOneof("event")
    if position == 1:
        if kind != "start":
            return problems + [f"{where}: expected a start frame, got {describe_frame(frame)}"]
        start = frame.start
        if not start.stream_id:
            problems.append(f"{where}: expected start.stream_id to be non-empty, got ''")
        if start.model != FLOOD_MODEL:
            problems.append(f"{where}: expected start.model {FLOOD_MODEL!r}, got {start.model!r}")
        if start.provider != SYNTHETIC_PROVIDER:
            problems.append(f"{where}: expected start.provider {SYNTHETIC_PROVIDER!r}, got {start.provider!r}")
    elif position <= max_tokens + 1:
        word = VOCAB[(position - 2) % len(VOCAB)]
        if kind != "text" or frame.text != word:
            problems.append(f"{where}: expected text {word!r}, got {describe_frame(frame)}")
    elif position == max_tokens + 2:
        if kind != "finish":
            return problems + [f"{where}: expected the finish frame, got {describe_frame(frame)}"]
        finish = frame.finish
        if finish.reason != "length":
            problems.append(f"{where}: expected finish.reason 'length', got {finish.reason!r}")
        if not finish.HasField("usage"):
            problems.append(f"{where}: expected finish.usage to be set, got {describe_frame(frame)}")
        elif finish.usage.output_tokens != max_tokens:
            problems.append(
                f"{where}: expected finish.usage.output_tokens {max_tokens}, got {finish.usage.output_tokens}"
            )
    else:
        problems.append(f"{where}: expected no frame after the finish frame, got {describe_frame(frame)}")
    return problems


def generate_request(stubs, model, max_tokens):
    messages = stubs.messages
    return messages.GenerateRequest(
        model=model,
        max_tokens=max_tokens,
        messages=[messages.ChatMessage(role="user", content="Tokenwire grpcio interop test")],
    )


def read_flood_stream(call, max_tokens, report, stop_after=None):
    """Reads and checks frames until the stream ends, stop_after frames were read, or too
    many checks failed. Returns the number of frames read and the RpcError that ended the
    stream, if one did."""
    frames = 0
    try:
        for frame in call:
            frames += 1
            for problem in flood_frame_problems(frame, frames, max_tokens):
                report.fail(problem)
            if len(report.failures) >= MAX_REPORTED_FAILURES:
                report.stopped_reading_after = frames
                call.cancel()
                return frames, None
            if stop_after is not None and frames == stop_after:
                return frames, None
    except grpc.RpcError as error:
        return frames, error
    return frames, None


# --------------------------------------------------------------------------- cases


def case_generate(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    max_tokens = args.n
    expected_frames = max_tokens + 2
    call = stubs.services.TokenStreamStub(channel).Generate(
        generate_request(stubs, FLOOD_MODEL, max_tokens), timeout=budget.timeout()
    )
    frames, error = read_flood_stream(call, max_tokens, report)
    if error is not None:
        report.fail(
            f"expected {expected_frames} frames then status OK, "
            f"got {frames} frames then {describe_rpc_error(error, args.target)}"
        )
    elif report.passed and frames != expected_frames:
        report.fail(
            f"expected {expected_frames} frames (start, {max_tokens} text, finish), "
            f"got {frames} frames then {status_name(call)}"
        )
    return {"frames": frames, "status": status_name(call)}


def case_complete(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    max_tokens = args.n
    stub = stubs.services.TokenStreamStub(channel)
    try:
        completion = stub.Complete(generate_request(stubs, FLOOD_MODEL, max_tokens), timeout=budget.timeout())
    except grpc.RpcError as error:
        report.fail(f"expected a Completion with status OK, got {describe_rpc_error(error, args.target)}")
        return {"status": error.code().name}
    report.expect_equal("completion.model", FLOOD_MODEL, completion.model)
    expected_text = "".join(VOCAB[k % len(VOCAB)] for k in range(max_tokens))
    if completion.text != expected_text:
        offset = next(
            (i for i, (a, b) in enumerate(zip(expected_text, completion.text)) if a != b),
            min(len(expected_text), len(completion.text)),
        )
        report.fail(
            f"completion.text: expected the {max_tokens} words ({len(expected_text)} characters), "
            f"got {len(completion.text)} characters differing at offset {offset}: "
            f"expected {expected_text[offset:offset + 40]!r}, got {completion.text[offset:offset + 40]!r}"
        )
    report.expect_equal("number of completion.tool_calls", 0, len(completion.tool_calls))
    if not completion.HasField("finish"):
        report.fail("completion.finish: expected it to be set, got no finish")
    else:
        report.expect_equal("completion.finish.reason", "length", completion.finish.reason)
        report.expect_equal("completion.finish.usage.output_tokens", max_tokens, completion.finish.usage.output_tokens)
    return {"status": "OK", "text_length": len(completion.text)}


def expect_not_found(report, what, error, target):
    if error.code() is not grpc.StatusCode.NOT_FOUND:
        report.fail(f"{what}: expected NOT_FOUND with a message, got {describe_rpc_error(error, target)}")
    elif not error.details():
        report.fail(f"{what}: expected NOT_FOUND with a non-empty message, got NOT_FOUND with an empty message")


def case_unknown_model(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    stub = stubs.services.TokenStreamStub(channel)
    request = generate_request(stubs, UNKNOWN_MODEL, 10)
    summary = {}

    call = stub.Generate(request, timeout=budget.timeout(20))
    frames = []
    try:
        for frame in call:
            frames.append(frame)
        report.fail(
            f"Generate {UNKNOWN_MODEL!r}: expected NOT_FOUND, got status OK after {len(frames)} frames"
        )
    except grpc.RpcError as error:
        expect_not_found(report, f"Generate {UNKNOWN_MODEL!r}", error, args.target)
    if frames:
        report.fail(
            f"Generate {UNKNOWN_MODEL!r}: expected no frames before the error, "
            f"got {len(frames)}, the first {describe_frame(frames[0])}"
        )
    summary["generate"] = {"status": status_name(call), "message": call.details(), "frames": len(frames)}

    try:
        completion = stub.Complete(request, timeout=budget.timeout(20))
        report.fail(
            f"Complete {UNKNOWN_MODEL!r}: expected NOT_FOUND, got status OK with {describe_frame(completion)}"
        )
        summary["complete"] = {"status": "OK"}
    except grpc.RpcError as error:
        expect_not_found(report, f"Complete {UNKNOWN_MODEL!r}", error, args.target)
        summary["complete"] = {"status": error.code().name, "message": error.details()}
    return summary


def case_health(channel, args, report, budget):
    stubs = args.health_stubs()
    messages = stubs.messages
    stub = stubs.services.HealthStub(channel)
    serving_status_name = messages.HealthCheckResponse.ServingStatus.Name
    serving = messages.HealthCheckResponse.SERVING
    checks = {}

    for service in ("", SERVICE_NAME):
        try:
            response = stub.Check(messages.HealthCheckRequest(service=service), timeout=budget.timeout(20))
            checks[service] = serving_status_name(response.status)
            if response.status != serving:
                report.fail(f"Check {service!r}: expected SERVING, got {checks[service]}")
        except grpc.RpcError as error:
            checks[service] = error.code().name
            report.fail(f"Check {service!r}: expected SERVING, got {describe_rpc_error(error, args.target)}")

    try:
        response = stub.Check(messages.HealthCheckRequest(service=UNKNOWN_SERVICE_NAME), timeout=budget.timeout(20))
        checks[UNKNOWN_SERVICE_NAME] = serving_status_name(response.status)
        report.fail(
            f"Check {UNKNOWN_SERVICE_NAME!r}: expected status NOT_FOUND, "
            f"got OK with {serving_status_name(response.status)}"
        )
    except grpc.RpcError as error:
        checks[UNKNOWN_SERVICE_NAME] = error.code().name
        if error.code() is not grpc.StatusCode.NOT_FOUND:
            report.fail(
                f"Check {UNKNOWN_SERVICE_NAME!r}: expected NOT_FOUND, got {describe_rpc_error(error, args.target)}"
            )

    # Watch never ends on its own, so its timeout is short; the first message is due at once.
    watch_key = "watch ''"
    watch = stub.Watch(messages.HealthCheckRequest(service=""), timeout=budget.timeout(10))
    try:
        first = next(watch)
        checks[watch_key] = serving_status_name(first.status)
        if first.status != serving:
            report.fail(f"Watch '': expected a first message SERVING, got {checks[watch_key]}")
    except StopIteration:
        checks[watch_key] = "OK"
        report.fail("Watch '': expected a first message SERVING, got status OK and no message")
    except grpc.RpcError as error:
        checks[watch_key] = error.code().name
        report.fail(f"Watch '': expected a first message SERVING, got {describe_rpc_error(error, args.target)}")
    finally:
        watch.cancel()
    return {"checks": checks}


def case_cancel(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    stub = stubs.services.TokenStreamStub(channel)
    call = stub.Generate(generate_request(stubs, FLOOD_MODEL, CANCEL_MAX_TOKENS), timeout=budget.timeout(30))
    frames, error = read_flood_stream(call, CANCEL_MAX_TOKENS, report, stop_after=CANCEL_AFTER_FRAMES)
    if error is not None:
        report.fail(
            f"expected {CANCEL_AFTER_FRAMES} frames before cancelling, "
            f"got {frames} frames then {describe_rpc_error(error, args.target)}"
        )
        return {"frames": frames, "status": status_name(call)}
    if report.passed and frames < CANCEL_AFTER_FRAMES:
        report.fail(
            f"expected {CANCEL_AFTER_FRAMES} frames before cancelling, "
            f"got {frames} frames then {status_name(call)}"
        )
    if not report.passed:
        return {"frames": frames, "status": status_name(call)}

    call.cancel()
    drained = 0
    try:
        for _ in call:
            drained += 1
            if drained >= CANCEL_DRAIN_LIMIT:
                report.fail(f"expected the stream to end with CANCELLED after cancel(), it went on for {drained} frames")
                break
        else:
            report.fail(f"expected the stream to end with CANCELLED after cancel(), it ended with {status_name(call)}")
    except grpc.RpcError as error:
        if error.code() is not grpc.StatusCode.CANCELLED:
            report.fail(f"expected CANCELLED after cancel(), got {describe_rpc_error(error, args.target)}")

    # The server must go on serving after a reset stream: a fresh call on the same channel.
    followup_tokens = 3
    followup = stub.Generate(generate_request(stubs, FLOOD_MODEL, followup_tokens), timeout=budget.timeout(20))
    followup_report = Report(report.case)
    followup_frames, followup_error = read_flood_stream(followup, followup_tokens, followup_report)
    for message in followup_report.failures:
        report.fail(f"Generate after the cancel: {message}")
    if followup_error is not None:
        report.fail(
            f"Generate after the cancel: expected {followup_tokens + 2} frames then OK, "
            f"got {followup_frames} frames then {describe_rpc_error(followup_error, args.target)}"
        )
    elif followup_report.passed and followup_frames != followup_tokens + 2:
        report.fail(
            f"Generate after the cancel: expected {followup_tokens + 2} frames, got {followup_frames}"
        )
    return {
        "frames": frames,
        "frames_after_cancel": drained,
        "status": status_name(call),
        "followup_status": status_name(followup),
    }


def case_deadline(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    stub = stubs.services.TokenStreamStub(channel)
    started = time.monotonic()
    call = stub.Generate(
        generate_request(stubs, PACED_MODEL, DEADLINE_MAX_TOKENS), timeout=budget.timeout(DEADLINE_SECONDS)
    )
    frames = 0
    ended_with = None
    try:
        for frame in call:
            frames += 1
            if frame.seq != frames:
                report.fail(f"frame {frames}: expected seq {frames}, got seq {frame.seq} in {describe_frame(frame)}")
            if frames == 1:
                if frame.WhichOneof("event") != "start":
                    report.fail(f"frame 1: expected a start frame, got {describe_frame(frame)}")
                elif not frame.start.stream_id:
                    report.fail("frame 1: expected start.stream_id to be non-empty, got ''")
        report.fail(
            f"expected DEADLINE_EXCEEDED after {DEADLINE_SECONDS} s, got status OK after {frames} frames; "
            f"{PACED_MODEL} with max_tokens {DEADLINE_MAX_TOKENS} should outlast the deadline"
        )
    except grpc.RpcError as error:
        ended_with = error
    elapsed = time.monotonic() - started
    if ended_with is not None and ended_with.code() is not grpc.StatusCode.DEADLINE_EXCEEDED:
        report.fail(
            f"expected DEADLINE_EXCEEDED after {DEADLINE_SECONDS} s, got {describe_rpc_error(ended_with, args.target)} "
            f"after {frames} frames"
        )
    if frames == 0:
        report.fail(f"expected at least the start frame before the {DEADLINE_SECONDS} s deadline, got no frames")
    return {"frames": frames, "status": status_name(call), "elapsed_ms": round(elapsed * 1000)}


def batch_item_model(index):
    return UNKNOWN_MODEL if index % 10 == 9 else FLOOD_MODEL


def batch_item_problems(index, frames):
    """What is wrong with one batch item's frames (its start first)."""
    where = f"item {index}"
    if not frames or frames[0].WhichOneof("event") != "start":
        return [f"{where}: expected a start frame first, got {describe_frame(frames[0]) if frames else 'nothing'}"]
    start = frames[0].start
    if start.model != batch_item_model(index) or not start.stream_id:
        return [f"{where}: expected start.model {batch_item_model(index)!r} and a stream_id, got {describe_frame(frames[0])}"]
    rest = frames[1:]
    if batch_item_model(index) == UNKNOWN_MODEL:
        if len(rest) != 1 or rest[0].WhichOneof("event") != "error":
            return [f"{where}: expected one ItemError after the start, got {[describe_frame(f) for f in rest[:3]]}"]
        if rest[0].error.code != GRPC_NOT_FOUND or not rest[0].error.message:
            return [f"{where}: expected ItemError code {GRPC_NOT_FOUND} with a message, got {describe_frame(rest[0])}"]
        return []
    max_tokens = 1 + index % 50
    texts = [frame.text for frame in rest[:-1]]
    expected = [VOCAB[k % len(VOCAB)] for k in range(max_tokens)]
    if texts != expected:
        return [f"{where}: expected the words {expected[:4]}... ({max_tokens}), got {texts[:4]}... ({len(texts)})"]
    last = rest[-1]
    if last.WhichOneof("event") != "finish" or last.finish.usage.output_tokens != max_tokens:
        return [f"{where}: expected a finish with {max_tokens} output tokens, got {describe_frame(last)}"]
    return []


def case_batch(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    messages = stubs.messages
    items = [generate_request(stubs, batch_item_model(k), 1 + k % 50) for k in range(args.n)]
    request = messages.BatchRequest(items=items, max_concurrency=BATCH_CONCURRENCY)
    call = stubs.services.TokenStreamStub(channel).GenerateBatch(request, timeout=budget.timeout())
    by_index = {}
    count = 0
    try:
        for frame in call:
            count += 1
            if frame.seq != count:
                report.fail(f"frame {count}: expected seq {count}, got seq {frame.seq} in {describe_frame(frame)}")
                break
            if frame.index >= args.n:
                report.fail(f"frame {count}: index {frame.index} is out of range (the batch has {args.n} items)")
                break
            by_index.setdefault(frame.index, []).append(frame)
    except grpc.RpcError as error:
        report.fail(f"expected status OK after every item, got {describe_rpc_error(error, args.target)} after {count} frames")
        return {"frames": count, "status": status_name(call)}
    missing = [k for k in range(args.n) if k not in by_index]
    if missing:
        report.fail(f"expected frames for every item, got none for {len(missing)} items, the first {missing[:5]}")
    for index in sorted(by_index):
        for problem in batch_item_problems(index, by_index[index]):
            report.fail(problem)
    failed = sum(1 for k in range(args.n) if batch_item_model(k) == UNKNOWN_MODEL)
    return {"frames": count, "items": len(by_index), "item_errors": failed, "status": status_name(call)}
def frame_to_json(frame):
    """A TokenFrame as a plain dict: seq, index and the one event that is set."""
    from google.protobuf import json_format

    return json_format.MessageToDict(frame, preserving_proto_field_name=True)


def case_relay(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    stub = stubs.services.TokenStreamStub(channel)
    with open(args.calls) as handle:
        calls = json.load(handle)
    results = []
    from google.protobuf import json_format

    for spec in calls:
        request = stubs.messages.GenerateRequest(
            model=spec["model"],
            max_tokens=spec.get("max_tokens", 0),
            messages=[stubs.messages.ChatMessage(role="user", content="Tokenwire relay interop test")],
            metadata=spec.get("metadata", {}),
        )
        if "response_format" in spec:
            json_format.ParseDict(spec["response_format"], request.response_format)
        if "request" in spec:
            # Any other GenerateRequest fields, in the protobuf JSON mapping (tools, messages, ...).
            json_format.ParseDict(spec["request"], request)
        result = {"frames": [], "code": "OK", "details": ""}
        try:
            if spec.get("method", "Generate") == "Complete":
                completion = stub.Complete(request, timeout=budget.timeout(30))
                result["completion"] = json_format.MessageToDict(completion, preserving_proto_field_name=True)
            else:
                for frame in stub.Generate(request, timeout=budget.timeout(30)):
                    result["frames"].append(frame_to_json(frame))
        except grpc.RpcError as error:
            result["code"] = error.code().name
            result["details"] = error.details() or ""
        results.append(result)
    return {"results": results}


class CuttableProxy:
    """Relays TCP connections from a loopback port to `target`; `cut` closes them all."""

    def __init__(self, target):
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source, destination):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                destination.sendall(data)
        except OSError:
            pass
        for end in (source, destination):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for end in sockets:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass

    def close(self):
        self.listener.close()
        self.cut()


def paced_frame_problems(frame, position):
    """What is wrong with the frame at 1-based position of a synthetic/paced Generate."""
    where = f"frame {position}"
    if frame.seq != position:
        return [f"{where}: expected seq {position}, got seq {frame.seq} (a gap or a duplicate at the resume)"]
    kind = frame.WhichOneof("event")
    if position == 1:
        if kind != "start" or not frame.start.resume_token:
            return [f"{where}: expected a start frame with a resume token, got {describe_frame(frame)}"]
        return []
    word = VOCAB[(position - 2) % len(VOCAB)]
    if kind != "text" or frame.text != word:
        return [f"{where}: expected text {word!r}, got {describe_frame(frame)}"]
    return []


def case_resume(channel, args, report, budget):
    stubs = args.tokenwire_stubs()
    proxy = CuttableProxy(args.target)
    options = [("grpc.enable_retries", 0)]
    frames = []
    try:
        proxied = grpc.insecure_channel(f"127.0.0.1:{proxy.port}", options=options)
        call = stubs.services.TokenStreamStub(proxied).Generate(
            generate_request(stubs, PACED_MODEL, 100000), timeout=budget.timeout()
        )
        cut_status = "OK"
        try:
            for frame in call:
                frames.append(frame)
                if len(frames) == 10:
                    proxy.cut()
        except grpc.RpcError as error:
            cut_status = error.code().name if error.code() is not None else "none"
        proxied.close()
    finally:
        proxy.close()
    report.expect_equal("the status of the cut call", "UNAVAILABLE", cut_status)
    if len(frames) < 10:
        report.fail(f"expected at least 10 frames before the cut, got {len(frames)}")
        return {"before": len(frames), "resumed": 0, "cut_status": cut_status}
    token = frames[0].start.resume_token
    last = frames[-1].seq
    request = stubs.messages.GenerateRequest(resume_token=token, resume_after_seq=last)
    call = stubs.services.TokenStreamStub(channel).Generate(request, timeout=budget.timeout())
    resumed = 0
    try:
        for frame in call:
            frames.append(frame)
            resumed += 1
            if resumed == 50:
                call.cancel()
                break
    except grpc.RpcError as error:
        report.fail(f"expected 50 resumed frames, got {resumed} then {describe_rpc_error(error, args.target)}")
    for position, frame in enumerate(frames, start=1):
        for problem in paced_frame_problems(frame, position):
            report.fail(problem)
    opted_out = stubs.services.TokenStreamStub(channel).Generate(
        generate_request(stubs, FLOOD_MODEL, 2), metadata=(("tokenwire-resume", "off"),), timeout=budget.timeout()
    )
    first = next(iter(opted_out))
    report.expect_equal("the resume token of a call with tokenwire-resume: off", "", first.start.resume_token)
    opted_out.cancel()
    return {"before": last, "resumed": resumed, "cut_status": cut_status}


def case_gzip(channel, args, report, budget):
    """A channel that gzip-compresses its requests (grpc.Compression.Gzip) and a request
    large enough to be compressed (a 256 KiB prompt): the server inflates it."""
    stubs = args.tokenwire_stubs()
    gzipped = grpc.insecure_channel(
        args.target, options=[("grpc.enable_retries", 0)], compression=grpc.Compression.Gzip)
    try:
        request = stubs.messages.GenerateRequest(
            model=FLOOD_MODEL, max_tokens=args.n,
            messages=[stubs.messages.ChatMessage(role="user", content="Say hello. " * 24_000)])
        call = stubs.services.TokenStreamStub(gzipped).Generate(request, timeout=budget.timeout())
        frames, error = read_flood_stream(call, args.n, report)
        if error is not None:
            report.fail(f"a gzip-compressed request: expected {args.n + 2} frames then OK, got {frames} then "
                        f"{describe_rpc_error(error, args.target)}")
        # (grpc-accept-encoding is grpcio's own business: it does not show it in the
        # metadata. The Swift tests check the header.)
        return {"frames": frames, "status": status_name(call)}
    finally:
        gzipped.close()


def check_health_serving(channel, args, report, budget, what):
    stubs = args.health_stubs()
    try:
        response = stubs.services.HealthStub(channel).Check(
            stubs.messages.HealthCheckRequest(service=""), timeout=budget.timeout(20))
        if response.status != stubs.messages.HealthCheckResponse.SERVING:
            report.fail(f"{what}: Health Check expected SERVING, got {response.status}")
    except grpc.RpcError as error:
        report.fail(f"{what}: Health Check expected SERVING, got {describe_rpc_error(error, args.target)}")


def case_tls(channel, args, report, budget):
    """The main channel is the TLS one (see main): a whole stream, and health."""
    if not args.tls_ca:
        raise SetupError("tls needs --tls-ca")
    summary = case_generate(channel, args, report, budget)
    check_health_serving(channel, args, report, budget, "over TLS")
    return summary


def case_tls_refused(channel, args, report, budget):
    if not args.tls_ca or args.tls_cert:
        raise SetupError("tls-refused needs --tls-ca and no --tls-cert")
    stubs = args.tokenwire_stubs()
    try:
        call = stubs.services.TokenStreamStub(channel).Generate(
            generate_request(stubs, FLOOD_MODEL, 10), timeout=budget.timeout(20))
        frames = sum(1 for _ in call)
        report.fail(f"a client without a certificate: expected UNAVAILABLE, got {frames} frames and OK")
        return {"status": "OK"}
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            report.fail(f"a client without a certificate: expected UNAVAILABLE, got {describe_rpc_error(error, args.target)}")
        return {"status": error.code().name}


def case_auth(channel, args, report, budget):
    if not args.token:
        raise SetupError("auth needs --token")
    stubs = args.tokenwire_stubs()
    stub = stubs.services.TokenStreamStub(channel)
    refusals = {}
    for name, metadata, says in (
        ("none", (), "requires a token"),
        ("wrong", (("authorization", "Bearer " + "x" * len(args.token)),), "not one this server accepts"),
        ("basic", (("authorization", "Basic " + args.token),), "scheme"),
    ):
        try:
            call = stub.Generate(generate_request(stubs, FLOOD_MODEL, 5), metadata=metadata, timeout=budget.timeout(20))
            frames = sum(1 for _ in call)
            report.fail(f"token {name}: expected UNAUTHENTICATED, got {frames} frames and OK")
            refusals[name] = "OK"
        except grpc.RpcError as error:
            refusals[name] = error.code().name
            if error.code() != grpc.StatusCode.UNAUTHENTICATED or says not in (error.details() or ""):
                report.fail(f"token {name}: expected UNAUTHENTICATED saying {says!r}, got {describe_rpc_error(error, args.target)}")
            if args.token in (error.details() or ""):
                report.fail(f"token {name}: the status message echoes the token")
    check_health_serving(channel, args, report, budget, "without a token")
    call = stub.Generate(
        generate_request(stubs, FLOOD_MODEL, args.n), metadata=(("authorization", "Bearer " + args.token),),
        timeout=budget.timeout())
    frames, error = read_flood_stream(call, args.n, report)
    if error is not None:
        report.fail(f"the valid token: expected {args.n + 2} frames then OK, got {frames} then {describe_rpc_error(error, args.target)}")
    return {"refusals": refusals, "frames": frames}


def case_reflection(channel, args, report, budget):
    try:
        from google.protobuf import descriptor_pool, message_factory
        from grpc_reflection.v1alpha import reflection_pb2
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    except ImportError as error:
        raise SetupError(f"grpcio-reflection is not installed ({error}); run tools/bootstrap.sh")
    database = ProtoReflectionDescriptorDatabase(channel)
    services = sorted(database.get_services())
    for wanted in (SERVICE_NAME, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                   "grpc.reflection.v1alpha.ServerReflection"):
        if wanted not in services:
            report.fail(f"list services: expected {wanted}, got {services}")
    pool = descriptor_pool.DescriptorPool(database)
    method = pool.FindServiceByName(SERVICE_NAME).FindMethodByName("Generate")
    request_class = message_factory.GetMessageClass(method.input_type)
    frame_class = message_factory.GetMessageClass(method.output_type)
    request = request_class(model=FLOOD_MODEL, max_tokens=args.n)
    generate = channel.unary_stream(
        f"/{SERVICE_NAME}/Generate", request_serializer=request_class.SerializeToString,
        response_deserializer=frame_class.FromString)
    kinds = []
    try:
        for frame in generate(request, timeout=budget.timeout(30)):
            kinds.append(frame.WhichOneof("event"))
    except grpc.RpcError as error:
        report.fail(f"Generate built from reflection: {describe_rpc_error(error, args.target)}")
    if kinds[:1] != ["start"] or kinds[-1:] != ["finish"] or kinds.count("text") != args.n:
        report.fail(f"Generate built from reflection: expected start, {args.n} text, finish; got {kinds[:3]}… ({len(kinds)} frames)")

    # grpc.reflection.v1: wire-identical messages; one stream, several requests, in order.
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=f"{SERVICE_NAME}.Generate"),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
    ]
    answers = [response.WhichOneof("message_response") for response in info(iter(requests), timeout=budget.timeout(30))]
    if answers != ["list_services_response", "file_descriptor_response", "error_response"]:
        report.fail(f"v1 stream of three requests: got answers {answers}")
    return {"services": len(services), "frames": len(kinds), "v1_answers": answers}


CASES = {
    "reflection": case_reflection,
    "tls": case_tls,
    "tls-refused": case_tls_refused,
    "auth": case_auth,
    "gzip": case_gzip,
    "resume": case_resume,
    "relay": case_relay,
    "generate": case_generate,
    "complete": case_complete,
    "unknown-model": case_unknown_model,
    "health": case_health,
    "cancel": case_cancel,
    "deadline": case_deadline,
    "batch": case_batch,
}


# --------------------------------------------------------------------------- main


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Run one grpcio interop case against a Tokenwire server.",
        epilog="Exit status: 0 passed, 1 a check failed, 2 usage or setup error, 3 grpcio not installed.",
    )
    parser.add_argument("--target", required=True, help="host:port of the server, e.g. 127.0.0.1:50051")
    parser.add_argument("case", choices=sorted(CASES), help="the scenario to run")
    parser.add_argument(
        "--n", type=int, help="max_tokens for generate (default 10000) and complete (default 100); items for batch (default 200)"
    )
    parser.add_argument("--calls", help="relay: JSON file listing the calls to make")
    parser.add_argument("--tls-ca", help="PEM CA file: connect over TLS (ssl_channel_credentials)")
    parser.add_argument("--tls-cert", help="PEM client certificate (mutual TLS); needs --tls-key")
    parser.add_argument("--tls-key", help="PEM client key")
    parser.add_argument("--token", help="bearer token: call credentials over TLS; the valid token for auth")
    args = parser.parse_args(argv)
    if args.case == "relay" and not args.calls:
        parser.error("relay needs --calls FILE")
    if args.n is not None and args.case not in DEFAULT_N:
        parser.error(f"--n applies to {' and '.join(DEFAULT_N)} only, not to {args.case}")
    if args.n is None:
        args.n = DEFAULT_N.get(args.case)
    elif args.n < 1:
        parser.error(f"--n must be at least 1 (0 means the provider's default), got {args.n}")
    return args


def start_watchdog(case):
    # Per-call timeouts bound every RPC; this catches anything else that hangs.
    def expire():
        sys.stderr.write(
            f"grpcio_client {case}: FAIL: did not finish within {OVERALL_TIMEOUT_SECONDS + 5:.0f} s\n"
        )
        sys.stderr.flush()
        os._exit(EXIT_FAILED)

    timer = threading.Timer(OVERALL_TIMEOUT_SECONDS + 5, expire)
    timer.daemon = True
    timer.start()


def main(argv):
    args = parse_arguments(argv)
    load_grpcio()
    start_watchdog(args.case)
    sys.dont_write_bytecode = True

    stub_dir = tempfile.mkdtemp(prefix="tokenwire-grpcio-stubs-")
    sys.path.insert(0, stub_dir)
    args.tokenwire_stubs = lambda: generate_tokenwire_stubs(stub_dir)
    args.health_stubs = lambda: generate_health_stubs(stub_dir)

    report = Report(args.case)
    budget = Budget(OVERALL_TIMEOUT_SECONDS)
    options = [
        ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_LENGTH),
        # Transparent retries would hide a server that refuses or resets streams.
        ("grpc.enable_retries", 0),
    ]
    if args.tls_ca:
        def read(path):
            with open(path, "rb") as file:
                return file.read()
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.tls_ca),
            private_key=read(args.tls_key) if args.tls_key else None,
            certificate_chain=read(args.tls_cert) if args.tls_cert else None)
        if args.token and args.case != "auth":
            credentials = grpc.composite_channel_credentials(credentials, grpc.access_token_call_credentials(args.token))
        channel = grpc.secure_channel(args.target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.target, options=options)
    try:
        summary = CASES[args.case](channel, args, report, budget)
    except SetupError as error:
        sys.stderr.write(f"grpcio_client {args.case}: setup error: {error}\n")
        return EXIT_SETUP
    finally:
        channel.close()
        shutil.rmtree(stub_dir, ignore_errors=True)

    print(json.dumps({"case": args.case, **summary, "passed": report.passed}), flush=True)
    if not report.passed:
        report.write_failures(sys.stderr)
        return EXIT_FAILED
    return EXIT_PASSED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
