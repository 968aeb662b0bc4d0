#!/usr/bin/env python3
"""Time to first token per call, measured by a real grpcio client.

ttft_probe.py HOST:PORT [-n 1000] [--calls 50] [--warmup 5] [--model synthetic/flood] [--first-only]

Sequential Generate calls on one channel. For each call: the time from sending the
request to the first *text* frame (Tokenwire sends StreamStart first; servers that do
not are measured the same way). Prints one line: median, p90 and max in milliseconds.
With --first-only each call is cancelled after its first text frame (for probing under
load without adding load). Stubs are generated from the project's proto at run time.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time


def load_stubs():
    from grpc_tools import protoc
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tempfile.mkdtemp(prefix="tokenwire-ttft-")
    proto = os.path.join(root, "proto")
    rc = protoc.main(["protoc", f"-I{proto}", f"--python_out={out}", f"--grpc_python_out={out}",
                      os.path.join(proto, "tokenwire", "v1", "tokenwire.proto")])
    if rc != 0:
        sys.exit("ttft_probe: could not compile proto/tokenwire/v1/tokenwire.proto")
    sys.path.insert(0, out)
    from tokenwire.v1 import tokenwire_pb2, tokenwire_pb2_grpc
    return tokenwire_pb2, tokenwire_pb2_grpc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("-n", type=int, default=1000, help="max_tokens per call")
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--model", default="synthetic/flood")
    ap.add_argument("--first-only", action="store_true")
    a = ap.parse_args()
    import grpc
    pb, rpc = load_stubs()
    channel = grpc.insecure_channel(a.target)
    grpc.channel_ready_future(channel).result(timeout=15)
    stub = rpc.TokenStreamStub(channel)
    request = pb.GenerateRequest(model=a.model, max_tokens=a.n)
    samples = []
    for i in range(a.warmup + a.calls):
        start = time.perf_counter()
        call = stub.Generate(request, timeout=60)
        first = None
        for frame in call:
            if frame.WhichOneof("event") == "text":
                first = time.perf_counter() - start
                if a.first_only:
                    call.cancel()
                break
        if not a.first_only:
            for _ in call:
                pass
        if first is None:
            sys.exit(f"ttft_probe: call {i} produced no text frame")
        if i >= a.warmup:
            samples.append(first * 1000)
    samples.sort()
    p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
    print(f"ttft_median_ms={statistics.median(samples):.2f} ttft_p90_ms={p90:.2f} "
          f"ttft_max_ms={samples[-1]:.2f} calls={len(samples)} model={a.model} n={a.n}")


if __name__ == "__main__":
    main()
