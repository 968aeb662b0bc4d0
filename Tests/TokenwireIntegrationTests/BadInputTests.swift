import Foundation
import Testing
import TokenwireHTTP2

@Suite("Bad input gets the right status, and the server keeps serving")
struct BadInputTests {
    static let generate = "/tokenwire.v1.TokenStream/Generate"

    /// Sends `body` with `headers`, checks the answer, then checks a good call still works.
    func expectAnswer(
        path: String = generate, contentType: String? = "application/grpc", method: String = "POST",
        extraHeaders: [HTTP2Header] = [], body: [UInt8],
        _ check: (RawResponse) -> Void
    ) async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let bad = try await client.send(path: path, contentType: contentType, method: method, extraHeaders: extraHeaders, body: body)
            check(bad)
            let good = try await client.send(path: Self.generate, body: framed(floodRequestBytes))
            #expect(good.httpStatus == "200")
            #expect(good.grpcStatus == 0)
            #expect(good.data.count > 0)
            await client.close()
        }
    }

    @Test func wrongContentTypeGetsHTTP415() async throws {
        try await expectAnswer(contentType: "application/json", body: Array("{}".utf8)) { response in
            #expect(response.httpStatus == "415")
            #expect(response.grpcMessage.contains("application%2Fjson") || response.grpcMessage.contains("application/json"))
        }
    }

    @Test func missingContentTypeGetsHTTP415() async throws {
        try await expectAnswer(contentType: nil, body: framed(floodRequestBytes)) { response in
            #expect(response.httpStatus == "415")
        }
    }

    @Test func truncatedBodyGetsInternal() async throws {
        try await expectAnswer(body: Array(framed(floodRequestBytes, declaredLength: 100).prefix(12))) { response in
            #expect(response.httpStatus == "200")
            #expect(response.grpcStatus == 13)
            #expect(response.grpcMessage.contains("ended inside a message"))
        }
    }

    @Test func garbageProtobufGetsInvalidArgument() async throws {
        try await expectAnswer(body: framed([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])) { response in
            #expect(response.grpcStatus == 3)
            #expect(response.grpcMessage.contains("GenerateRequest"))
        }
    }

    @Test func oversizedMessageGetsResourceExhausted() async throws {
        let body = framed([], declaredLength: 5 * 1024 * 1024) + [UInt8](repeating: 0x41, count: 64 * 1024)
        try await expectAnswer(body: body) { response in
            #expect(response.grpcStatus == 8)
            #expect(response.grpcMessage.contains("exceeds"))
        }
    }

    @Test func unknownMethodGetsUnimplemented() async throws {
        try await expectAnswer(path: "/tokenwire.v1.TokenStream/Nope", body: framed(floodRequestBytes)) { response in
            #expect(response.httpStatus == "200")
            #expect(response.grpcStatus == 12)
            #expect(response.grpcMessage.contains("Nope"))
        }
    }

    @Test func unknownServiceGetsUnimplemented() async throws {
        try await expectAnswer(path: "/no.such.Service/Generate", body: framed(floodRequestBytes)) { response in
            #expect(response.grpcStatus == 12)
        }
    }

    @Test func compressedMessageWithoutEncodingGetsUnimplemented() async throws {
        try await expectAnswer(body: framed(floodRequestBytes, compressed: true)) { response in
            #expect(response.grpcStatus == 12)
        }
    }

    @Test func requestWithoutAnyMessageGetsUnimplemented() async throws {
        try await expectAnswer(body: []) { response in
            #expect(response.grpcStatus == 12)
            #expect(response.grpcMessage.contains("none"))
        }
    }

    @Test func twoRequestMessagesGetUnimplemented() async throws {
        try await expectAnswer(body: framed(floodRequestBytes) + framed(floodRequestBytes)) { response in
            #expect(response.grpcStatus == 12)
        }
    }

    @Test func malformedTimeoutGetsAnError() async throws {
        try await expectAnswer(extraHeaders: [HTTP2Header("grpc-timeout", "123456789S")], body: framed(floodRequestBytes)) { response in
            #expect(response.grpcStatus == 13)
            #expect(response.grpcMessage.contains("grpc-timeout"))
        }
    }

    @Test func getMethodGetsHTTP405() async throws {
        try await expectAnswer(method: "GET", body: []) { response in
            #expect(response.httpStatus == "405")
        }
    }

    @Test func responseIsAWellFramedSequenceOfMessages() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let response = try await client.send(path: Self.generate, body: framed(floodRequestBytes))
            #expect(response.grpcStatus == 0)
            // StreamStart + 3 texts + finish, each length-prefixed.
            var offset = 0
            var messages = 0
            while offset + 5 <= response.data.count {
                let length = response.data[offset + 1..<offset + 5].reduce(0) { $0 << 8 | Int($1) }
                offset += 5 + length
                messages += 1
            }
            #expect(messages == 5)
            #expect(offset == response.data.count)
            await client.close()
        }
    }

    @Test func nghttpSeesTrailersOnlyForUnknownMethod() async throws {
        try await withTestServer { _, port in
            let body = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-nghttp-\(port).bin")
            try Data(framed(floodRequestBytes)).write(to: body)
            let output = try await runProcess("nghttp", [
                "-v", "-n", "-d", body.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
                "http://127.0.0.1:\(port)/tokenwire.v1.TokenStream/Nope",
            ])
            #expect(output.status == 0, "nghttp failed: \(output.stderr)")
            #expect(output.stdout.contains("grpc-status: 12"))
            #expect(output.stdout.contains("END_STREAM"))
            let good = try await runProcess("nghttp", [
                "-v", "-n", "-d", body.path, "-H", "content-type: application/grpc", "-H", "te: trailers",
                "http://127.0.0.1:\(port)/tokenwire.v1.TokenStream/Generate",
            ])
            #expect(good.stdout.contains("grpc-status: 0"))
        }
    }
}

/// `grpc-encoding: gzip` requests (issue 11): inflated within the receive limit; other
/// encodings refused naming the ones accepted; every response advertises them.
@Suite("Compressed requests")
struct CompressedRequestTests {
    static let generate = "/tokenwire.v1.TokenStream/Generate"

    /// `bytes` gzip-compressed, by Python's gzip module (a compressor nobody here wrote).
    static func gzip(_ bytes: [UInt8]) async throws -> [UInt8] {
        let output = try await runProcess("python3", [
            "-c", "import base64,gzip,sys; print(base64.b64encode(gzip.compress(base64.b64decode(sys.argv[1]))).decode())",
            Data(bytes).base64EncodedString(),
        ])
        return Array(try #require(Data(base64Encoded: output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))))
    }

    /// `count` zero bytes, gzip-compressed by Python.
    static func gzippedZeros(_ count: Int) async throws -> [UInt8] {
        let output = try await runProcess("python3", [
            "-c", "import base64,gzip,sys; print(base64.b64encode(gzip.compress(bytes(int(sys.argv[1])))).decode())", String(count),
        ])
        return Array(try #require(Data(base64Encoded: output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))))
    }

    @Test func gzipRequestIsInflatedAndEveryResponseAdvertisesTheEncodingsAccepted() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            defer { Task { await client.close() } }
            let response = try await client.send(
                path: Self.generate, extraHeaders: [HTTP2Header("grpc-encoding", "gzip")],
                body: framed(try await Self.gzip(floodRequestBytes), compressed: true))
            #expect(response.grpcStatus == 0, "\(response.grpcMessage)")
            #expect(response.data.count > 100, "three tokens and a finish")
            #expect(response.headers.first(named: "grpc-accept-encoding") == "identity,gzip")
            let plain = try await client.send(path: Self.generate, extraHeaders: [HTTP2Header("grpc-encoding", "gzip")], body: framed(floodRequestBytes))
            #expect(plain.grpcStatus == 0, "an uncompressed message of a gzip call is fine: \(plain.grpcMessage)")
        }
    }

    @Test func unsupportedEncodingIsUnimplementedNamingTheAcceptedOnes() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            defer { Task { await client.close() } }
            let response = try await client.send(
                path: Self.generate, extraHeaders: [HTTP2Header("grpc-encoding", "br")], body: framed(floodRequestBytes, compressed: true))
            #expect(response.grpcStatus == 12)
            #expect(response.grpcMessage.contains("grpc-encoding 'br' is not supported: this server accepts identity and gzip"))
            #expect(response.headers.first(named: "grpc-accept-encoding") == "identity,gzip")
        }
    }

    @Test func gzipBombPastTheReceiveLimitIsResourceExhaustedAndGarbageIsInternal() async throws {
        try await withTestServer(configure: { $0.maxReceiveMessageSize = 64 * 1024 }) { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            defer { Task { await client.close() } }
            // 1 MiB of zeros: about 1 KiB compressed, sixteen times the limit inflated.
            let bomb = try await Self.gzippedZeros(1 << 20)
            #expect(bomb.count < 64 * 1024)
            let exhausted = try await client.send(
                path: Self.generate, extraHeaders: [HTTP2Header("grpc-encoding", "gzip")], body: framed(bomb, compressed: true))
            #expect(exhausted.grpcStatus == 8, "\(exhausted.grpcMessage)")
            #expect(exhausted.grpcMessage.contains("inflates past the receive limit of 65536 bytes"))
            let garbage = try await client.send(
                path: Self.generate, extraHeaders: [HTTP2Header("grpc-encoding", "gzip")], body: framed(floodRequestBytes, compressed: true))
            #expect(garbage.grpcStatus == 13, "\(garbage.grpcMessage)")
            #expect(garbage.grpcMessage.contains("could not be inflated"))
            let after = try await client.send(path: Self.generate, body: framed(floodRequestBytes))
            #expect(after.grpcStatus == 0, "the connection goes on serving")
        }
    }
}
