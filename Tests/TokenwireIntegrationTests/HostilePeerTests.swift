import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import TokenwireCore
import TokenwireHTTP2
import TokenwireServer
import TokenwireTestSupport
import TokenwireWire

/// Clients that send what no good client would: each is answered with a status a person can
/// act on, the server holds no more than its limits, and it keeps serving everyone else.
@Suite("Hostile clients: bounded memory and clear answers")
struct HostilePeerTests {
    static let generate = "/tokenwire.v1.TokenStream/Generate"

    /// A good call on `client` after the attack: the connection and server still serve.
    func expectStillServes(_ client: RawHTTP2Client, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let good = try await client.send(path: Self.generate, body: framed(floodRequestBytes))
        #expect(good.grpcStatus == 0, "\(good.grpcMessage)", sourceLocation: sourceLocation)
        #expect(good.data.count > 0, sourceLocation: sourceLocation)
    }

    func generateRequestBytes(_ request: GenerateRequest) -> [UInt8] {
        var buffer = ByteBuffer()
        request.encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    // MARK: Headers (rows 1, 2, 5)

    @Test func hpackIndexedHeaderRepeatedPastTheListSizeIsRefusedWithResourceExhausted() async throws {
        try await withTestServer { _, port in
            // One 3,000-byte field enters the HPACK table once; 40 one-byte references to it
            // follow, over HEADERS and 8 CONTINUATION frames (Tests/Interop/hostile_h2.py).
            let output = try await runProcess("python3", ["Tests/Interop/hostile_h2.py", "hpack-bomb", "\(port)"])
            #expect(output.status == 0, "\(output.stderr)")
            let result = try #require(
                JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: [String: Any]], "\(output.stdout)")
            let attack = try #require(result["attack"])
            let headers = try #require(attack["headers"] as? [String: String])
            #expect(attack["continuation_frames"] as? Int == 8)
            #expect((attack["wire_block_bytes"] as? Int ?? .max) < 4000)
            #expect(headers["grpc-status"] == "8")
            #expect(headers["grpc-message"]?.contains("decode to 124827 bytes") == true)
            #expect(headers["grpc-message"]?.contains("SETTINGS_MAX_HEADER_LIST_SIZE") == true)
            let after = try #require(result["after"]?["headers"] as? [String: String])
            #expect(after["grpc-status"] == "0")
        }
    }

    @Test func headerValueLargerThanTheAdvertisedListSizeIsRefusedWithResourceExhausted() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let extra = [HTTP2Header("x-huge", String(repeating: "h", count: 60 * 1024))]
            let response = try await client.send(path: Self.generate, extraHeaders: extra, body: framed(floodRequestBytes))
            #expect(response.grpcStatus == 8, "\(response.grpcMessage)")
            #expect(response.grpcMessage.contains("this server accepts at most 16384"))
            try await expectStillServes(client)
            await client.close()
        }
    }

    @Test func unknownMethodWithALongNonASCIIPathGetsUnimplementedWithAShortMessage() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let path = "/tokenwire.v1.TokenStream/" + String(repeating: "é", count: 5000)  // 10 KB, under the header limit
            let response = try await client.send(path: path, body: framed(floodRequestBytes))
            #expect(response.grpcStatus == 12, "\(response.grpcMessage)")
            #expect(response.headers.first(named: "grpc-message").map { $0.utf8.count <= GRPCStatusMessage.maxEncodedLength } == true)
            #expect(response.grpcMessage.contains("unknown method"))
            #expect(response.grpcMessage.contains("(10026 bytes)"))
            try await expectStillServes(client)
            await client.close()
        }
    }

    @Test func unknownMethodWithAThirtyKilobytePathGetsResourceExhaustedNotAReset() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let path = "/tokenwire.v1.TokenStream/" + String(repeating: "é", count: 15_000)
            let response = try await client.send(path: path, body: framed(floodRequestBytes))
            #expect(response.resetCode == nil)
            #expect(response.grpcStatus == 8, "\(response.grpcMessage)")
            try await expectStillServes(client)
            await client.close()
        }
    }

    // MARK: Error texts (row 4)

    @Test func unknownModelOfSeventyKilobytesGetsNotFoundWithTheNameCut() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let model = String(repeating: "m", count: 70_000)
            let body = framed(generateRequestBytes(GenerateRequest(model: model, maxTokens: 3)))
            let response = try await client.send(path: Self.generate, body: body)
            #expect(response.grpcStatus == 5, "\(response.grpcMessage.prefix(300))")
            #expect(response.grpcMessage.hasPrefix("unknown model 'mmmm"))
            #expect(GRPCStatusMessage.percentDecode(response.grpcMessage).contains("…' (70000 bytes)"))
            #expect(response.grpcMessage.utf8.count < 1000)
            try await expectStillServes(client)
            await client.close()
        }
    }

    // MARK: Unfinished requests (row 3)

    @Test func unfinishedRequestsPastTheConnectionBudgetGetResourceExhausted() async throws {
        let limit = 1024 * 1024
        try await withTestServer(configure: {
            $0.connectionLimits.maxBufferedRequestBytesPerConnection = limit
            $0.connectionLimits.requestTimeout = .seconds(600)
        }) { server, port in
            let client = try await RawHTTP2Client.connect(port: port)
            // Each stream: the prefix of a 3 MiB message and 200,005 bytes of it, never ended.
            let partial = framed([], declaredLength: 3 * 1024 * 1024) + [UInt8](repeating: 0x41, count: 200_000)
            let answers = NIOLockedValueBox<[RawResponse]>([])
            for _ in 0..<12 {
                try await client.open(path: Self.generate, body: partial, endStream: false).whenSuccess { answer in
                    answers.withLockedValue { $0.append(answer) }
                }
            }
            // However nghttp2 interleaves the streams' DATA, at most 5 whole requests fit
            // under 1 MiB: the rest are refused, and the held bytes stay under the limit.
            try await withTimeout(60, "every stream to be refused or held whole") {
                while true {
                    let (answered, held) = (answers.withLockedValue { $0.count }, server.bufferedRequestBytes)
                    if held % 200_005 == 0, answered + held / 200_005 == 12 { return }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            let refused = answers.withLockedValue { $0 }
            #expect(refused.count >= 7)
            #expect(server.bufferedRequestBytes <= limit)
            for answer in refused {
                #expect(answer.grpcStatus == 8)
                #expect(answer.grpcMessage.contains("--max-connection-request-bytes"))
            }
            await client.close()
            try await withTimeout(60, "the closed connection's bytes to be freed") {
                while server.bufferedRequestBytes != 0 { try await Task.sleep(for: .milliseconds(10)) }
            }
        }
    }

    @Test func requestThatDoesNotArriveWholeInTimeGetsDeadlineExceededAndItsBytesAreFreed() async throws {
        try await withTestServer(configure: { $0.connectionLimits.requestTimeout = .milliseconds(500) }) { server, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let partial = framed([], declaredLength: 3 * 1024 * 1024) + [UInt8](repeating: 0x41, count: 200_000)
            let response = try await client.open(path: Self.generate, body: partial, endStream: false)
            let answer = try await withTimeout(60, "the request timeout") { try await response.get() }
            #expect(answer.grpcStatus == 4)
            #expect(answer.grpcMessage.contains("--request-timeout"))
            #expect(answer.grpcMessage.contains("bytes arrived"))
            #expect(server.bufferedRequestBytes == 0)
            try await expectStillServes(client)
            await client.close()
        }
    }

    @Test func unfinishedRequestsPastTheServerBudgetAreRefusedAcrossConnections() async throws {
        try await withTestServer(configure: {
            $0.connectionLimits.maxBufferedRequestBytesPerConnection = 1024 * 1024
            $0.connectionLimits.maxBufferedRequestBytes = 1_500_000
            $0.connectionLimits.requestTimeout = .seconds(60)
        }) { server, port in
            let first = try await RawHTTP2Client.connect(port: port)
            let second = try await RawHTTP2Client.connect(port: port)
            let partial = framed([], declaredLength: 3 * 1024 * 1024) + [UInt8](repeating: 0x41, count: 200_000)
            let (answers, answered) = AsyncStream.makeStream(of: RawResponse.self)
            for client in [first, second] {
                for _ in 0..<4 {
                    try await client.open(path: Self.generate, body: partial, endStream: false).whenSuccess { answered.yield($0) }
                }
            }
            // 7 × 200,005 bytes fit under 1.5 MB, 8 do not: exactly one stream (whichever
            // pushes the total over) is refused at once, naming the server-wide limit.
            let refusal = try await withTimeout(60, "the refusal") { await answers.first { _ in true } }
            #expect(refusal?.grpcStatus == 8)
            #expect(refusal?.grpcMessage.contains("--max-request-bytes") == true)
            try await withTimeout(60, "the other seven requests to arrive whole") {
                while server.bufferedRequestBytes != 7 * 200_005 { try await Task.sleep(for: .milliseconds(10)) }
            }
            await first.close()
            await second.close()
        }
    }

    // MARK: Request amplification (row 11)

    @Test func requestWithTwoMillionEmptyMessagesGetsInvalidArgument() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            // 2,000,000 × field 2 (messages), length 0: an empty ChatMessage each.
            var messages = [UInt8](repeating: 0, count: 4_000_000)
            for position in stride(from: 0, to: messages.count, by: 2) { messages[position] = 0x12 }
            let payload = floodRequestBytes + messages
            let response = try await client.send(path: Self.generate, body: framed(payload))
            #expect(response.grpcStatus == 3, "\(response.grpcMessage)")
            #expect(response.grpcMessage == "the request has 2000000 chat messages; at most 10000 are accepted")
            try await expectStillServes(client)
            await client.close()
        }
    }

    // MARK: Connections (rows 9, 12)

    @Test func pingFloodOnAnIdleConnectionGetsExactlyOneGoAway() async throws {
        try await withTestServer { _, port in
            // The preface, empty SETTINGS and 1,000 PINGs in one write, so the server reads
            // the whole flood before it can close the socket.
            var flood = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
            for payload in 0..<1000 {
                flood += [0, 0, 8, 6, 0, 0, 0, 0, 0] + withUnsafeBytes(of: UInt64(payload).bigEndian, Array.init)
            }
            let received = try await RawTCP.exchange(port: port, send: flood)
            let goAways = HTTP2FrameScan.frames(in: received).filter { $0.type == 7 }
            #expect(goAways.count == 1)
            #expect(goAways.first.map { Array(Array($0.payload)[4..<8]) } == [0, 0, 0, 0x0b])  // ENHANCE_YOUR_CALM
        }
    }

    @Test func clientThatNeverFinishesThePrefaceIsClosedAfterThePrefaceTimeout() async throws {
        try await withTestServer(configure: { $0.http2.prefaceTimeout = .seconds(1) }) { _, port in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            // A slowloris: one byte of the preface, then another now and then.
            let dribble = Task {
                for byte in Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) {
                    try await channel.writeAndFlush(ByteBuffer(bytes: [byte]))
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            try await withTimeout(30, "the server to close the slow connection") { try await channel.closeFuture.get() }
            dribble.cancel()
            // A client whose preface goes out in its first write is served under the same timeout.
            let output = try await runProcess("python3", ["Tests/Interop/hostile_h2.py", "paced-call", "\(port)"])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains(#""grpc-status": "0""#), "\(output.stdout)")
        }
    }

    @Test func connectionWithNoCallGetsGoAwayAfterTheIdleTimeout() async throws {
        try await withTestServer(configure: { $0.http2.idleTimeout = .milliseconds(500) }) { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            try await withTimeout(30, "the idle connection to close") { try await client.closeFuture() }
            #expect(try await client.goAways() == [.noError])
        }
    }

    @Test func connectionWithACallLongerThanTheIdleTimeoutStaysOpen() async throws {
        try await withTestServer(configure: {
            $0.http2.idleTimeout = .milliseconds(500)
            $0.pacedTokensPerSecond = 20
        }) { _, port in
            // 30 paced tokens at 20/s: 1.5 s, three idle timeouts. The call goes out in the
            // connection's first write, so the connection is never idle before it.
            let output = try await runProcess("python3", ["Tests/Interop/hostile_h2.py", "paced-call", "\(port)"])
            #expect(output.status == 0, "\(output.stderr)")
            let result = try #require(
                JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: [String: Any]], "\(output.stdout)")
            let call = try #require(result["call"])
            #expect((call["headers"] as? [String: String])?["grpc-status"] == "0", "\(call)")
            #expect(call["goaway"] == nil, "\(call)")
            #expect(call["connection_closed"] as? Bool == false)
        }
    }

    @Test func connectionPastItsMaxAgeDrainsItsCallsThenCloses() async throws {
        try await withTestServer(configure: {
            $0.http2.maxConnectionAge = .seconds(5)
            $0.pacedTokensPerSecond = 20
        }) { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            // The call starts at once (the age leaves it 4.5 s at least: CI's loaded machine
            // once took more than 1.8 s, and a call that arrives after the final GOAWAY is
            // not served). 120 paced tokens at 20/s (one varint byte): about 6 s, well past the age. The call
            // finishes whole: a drain ends the connection, not its calls.
            let paced = [0x0a, 0x0f] + Array("synthetic/paced".utf8) + [0x18, 120]
            do {
                let response = try await client.send(path: "/tokenwire.v1.TokenStream/Generate", body: framed(paced))
                #expect(response.grpcStatus == 0, "\(response.grpcMessage)")
                #expect(response.data.count > 120 * 10, "every paced frame arrived")
            } catch {
                // Only a call the final GOAWAY left out (it reached the server after the age:
                // CI's machine once stalled this test for 30 s) may go unserved; a call the
                // server took must finish whole. The first call is stream 1.
                let lastAccepted = try await client.goAwayLastStreamIDs().min()
                #expect(lastAccepted.map { $0 < 1 } == true, "stream 1 was accepted (last stream id \(String(describing: lastAccepted))) yet cut: \(error)")
            }
            try await withTimeout(30, "the aged connection to close") { try await client.closeFuture() }
            #expect(try await client.goAways().allSatisfy { $0 == .noError })
            #expect(try await !client.goAways().isEmpty)
        }
    }

    @Test func connectionPastItsMaxAgeAndGraceIsClosedUnderItsCalls() async throws {
        try await withTestServer(configure: {
            $0.http2.maxConnectionAge = .milliseconds(200)
            $0.http2.maxConnectionAgeGrace = .milliseconds(200)
            $0.pacedTokensPerSecond = 5
        }) { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            // 50 paced tokens at 5/s would take 10 s; the grace ends it after about 0.4 s.
            let paced = [0x0a, 0x0f] + Array("synthetic/paced".utf8) + [0x18, 50]
            do {
                let response = try await withTimeout(30, "the cut call") {
                    try await client.send(path: "/tokenwire.v1.TokenStream/Generate", body: framed(paced))
                }
                #expect(response.grpcStatus != 0, "the call should have been cut, not finished")
            } catch {
                // The connection closed under the call: what the grace means.
            }
            try await withTimeout(30, "the connection to close") { try await client.closeFuture() }
        }
    }

    @Test func ourClientsCallsGoOnAcrossConnectionsThatReachTheirMaxAge() async throws {
        try await withServerAndClient(configure: { $0.http2.maxConnectionAge = .milliseconds(100) }) { _, client in
            // Each pause outlasts the age (±10%): every next call finds its connection
            // draining or gone, and must go on over a new one.
            for _ in 0..<8 {
                let frames = try await client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3)).collect()
                #expect(frames.count == 5)
                try await Task.sleep(for: .milliseconds(150))
            }
        }
    }

    @Test func connectionsPastMaxConnectionsGetGoAwayAndTheOthersKeepServing() async throws {
        try await withTestServer(configure: { $0.connectionLimits.maxConnections = 2 }) { _, port in
            let first = try await RawHTTP2Client.connect(port: port)
            let second = try await RawHTTP2Client.connect(port: port)
            try await expectStillServes(first)
            try await expectStillServes(second)
            let third = try await RawHTTP2Client.connect(port: port)
            try await withTimeout(30, "the third connection to close") { try await third.closeFuture() }
            #expect(try await third.goAways() == [.enhanceYourCalm])
            try await expectStillServes(first)
            await first.close()
            await second.close()
        }
    }
}
