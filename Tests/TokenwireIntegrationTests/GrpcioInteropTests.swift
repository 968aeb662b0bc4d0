import Testing
import TokenwireServer
import TokenwireTestSupport

/// A gRPC client nobody here wrote: Python grpcio (C-core), with stubs generated from our
/// proto at run time by grpcio-tools (`Tests/Interop/grpcio_client.py`).
@Suite("grpcio client against the real server")
struct GrpcioInteropTests {
    func runCase(_ name: String, port: Int, extra: [String] = []) async throws -> ProcessOutput {
        let output = try await runProcess("python3", ["Tests/Interop/grpcio_client.py", "--target", "127.0.0.1:\(port)", name] + extra)
        #expect(output.status == 0, "grpcio case \(name) failed (exit \(output.status)):\n\(output.stderr)\n\(output.stdout)")
        return output
    }

    @Test func generateTenThousandFramesInOrderWithStatusOK() async throws {
        try await withTestServer { _, port in
            let output = try await runCase("generate", port: port, extra: ["--n", "10000"])
            #expect(output.stdout.contains("\"frames\": 10002"))
        }
    }

    /// A dropped connection (grpcio's own TCP proxy closes both sockets) ends the call
    /// UNAVAILABLE; a resume with StreamStart's token and the last seq read goes on with no
    /// gap and no duplicate.
    @Test func grpcioResumesAStreamCutMidwayWithExactlyTheFramesAfterItsLastSeq() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 200 }) { _, port in
            let output = try await runCase("resume", port: port)
            #expect(output.stdout.contains("\"resumed\": 50, \"cut_status\": \"UNAVAILABLE\""))
        }
    }

    @Test func grpcioWithGzipCompressionSendsALargeRequestAndGetsTheWholeStream() async throws {
        try await withTestServer { _, port in
            let output = try await runCase("gzip", port: port, extra: ["--n", "50"])
            #expect(output.stdout.contains("\"frames\": 52"))
        }
    }

    @Test func completeReturnsTheWholeText() async throws {
        try await withTestServer { _, port in _ = try await runCase("complete", port: port) }
    }

    @Test func unknownModelGetsNotFound() async throws {
        try await withTestServer { _, port in _ = try await runCase("unknown-model", port: port) }
    }

    @Test func healthCheckIsServing() async throws {
        try await withTestServer { _, port in _ = try await runCase("health", port: port) }
    }

    @Test func deadlineFromGrpcioEndsWithDeadlineExceeded() async throws {
        try await withTestServer { _, port in _ = try await runCase("deadline", port: port) }
    }

    @Test func generateBatchFromGrpcioHasContiguousSeqAndItemErrorsForUnknownModels() async throws {
        try await withTestServer { server, port in
            let output = try await runCase("batch", port: port)
            #expect(output.stdout.contains("\"items\": 200, \"item_errors\": 20, \"status\": \"OK\""))
            #expect(server.admission.snapshot.active == 0)
        }
    }

    @Test func cancelFromPythonStopsTheServerProducer() async throws {
        try await withTestServer { server, port in
            _ = try await runCase("cancel", port: port)
            let snapshot = try await withTimeout(30, "the server to see the cancellation") {
                await server.ledger.wait { snapshot in snapshot.ended.contains { $0.clientCancelled } && snapshot.active == 0 }
            }
            let cancelled = snapshot.ended.filter(\.clientCancelled)
            #expect(cancelled.count == 1)
            #expect(cancelled.first?.status.code == .cancelled)
        }
    }
}

/// h2load (nghttp2's load generator) as a client: many calls over several connections.
@Suite("h2load smoke")
struct H2LoadSmokeTests {
    @Test func thousandGenerateCallsOverFourConnectionsOfSixteenStreamsAllSucceed() async throws {
        try await withTestServer { server, port in
            let body = "/tmp/tokenwire-h2load-\(port).bin"
            let request: [UInt8] = framed([0x0a, 0x0f] + Array("synthetic/flood".utf8) + [0x18, 0xe8, 0x07])  // max_tokens 1000
            try await runProcess("python3", ["-c", "import sys; open(sys.argv[1],'wb').write(bytes.fromhex(sys.argv[2]))", body,
                request.map { String(format2($0)) }.joined()]).checkSuccess()
            let output = try await runProcess("h2load", [
                "-n", "1000", "-c", "4", "-m", "16", "-d", body,
                "-H", "content-type: application/grpc", "-H", "te: trailers",
                "http://127.0.0.1:\(port)/tokenwire.v1.TokenStream/Generate",
            ], timeout: 300)
            #expect(output.status == 0, "h2load failed: \(output.stderr)")
            #expect(output.stdout.contains("1000 done, 1000 succeeded, 0 failed, 0 errored"), "\(output.stdout)")
            #expect(output.stdout.contains("status codes: 1000 2xx"))
            // h2load cannot see trailers; the server's ledger can.
            let snapshot = try await withTimeout(30, "all calls to end") { await server.ledger.wait { $0.ended.count >= 1000 } }
            #expect(snapshot.ended.allSatisfy { $0.status.code == .ok })
        }
    }
}

private func format2(_ byte: UInt8) -> String {
    let hex = String(byte, radix: 16)
    return hex.count == 1 ? "0" + hex : hex
}

extension ProcessOutput {
    @discardableResult
    func checkSuccess(sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        #expect(status == 0, "process failed: \(stderr)", sourceLocation: sourceLocation)
        return self
    }
}
