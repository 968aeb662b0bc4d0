import NIOCore
import Testing
import TokenwireCore
import TokenwireHTTP2
@testable import TokenwireServer
import TokenwireTestSupport
import TokenwireWire

/// Server reflection (`grpc.reflection.v1` and `v1alpha`): grpcio-reflection discovers the
/// service and calls it from the discovered descriptors alone; raw HTTP/2 pins the stream
/// semantics (several requests in one DATA frame, answers in order, errors per request).
@Suite("Server reflection")
struct ReflectionTests {
    static let v1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    static let v1alpha = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"

    func framed(_ requests: [ServerReflectionRequest]) -> [UInt8] {
        var buffer = ByteBuffer()
        for request in requests { GRPCMessageFramer.appendMessage(request, to: &buffer) }
        return Array(buffer.readableBytesView)
    }

    func responses(_ data: [UInt8]) throws -> [ServerReflectionResponse] {
        var deframer = GRPCMessageDeframer(maxMessageSize: 1 << 20)
        deframer.append(ByteBuffer(bytes: data))
        var responses: [ServerReflectionResponse] = []
        while let message = try deframer.nextMessage() { responses.append(try ServerReflectionResponse(decoding: message.body)) }
        return responses
    }

    @Test func grpcioReflectionDiscoversTheServiceAndCallsGenerateFromTheDescriptorsAlone() async throws {
        try await withTestServer { _, port in
            let output = try await GrpcioInteropTests().runCase("reflection", port: port)
            #expect(output.stdout.contains("\"frames\": 32"))
            #expect(output.stdout.contains("\"services\": 4"))
        }
    }

    @Test(arguments: [v1, v1alpha])
    func requestsSentTogetherAreAnsweredInOrderAndAnUnknownSymbolDoesNotEndTheStream(path: String) async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let response = try await client.send(
                path: path,
                body: framed([
                    ServerReflectionRequest(host: "h", query: .listServices("")),
                    ServerReflectionRequest(query: .fileContainingSymbol("no.such.Thing")),
                    ServerReflectionRequest(query: .fileByFilename("tokenwire/v1/tokenwire.proto")),
                    ServerReflectionRequest(query: .unset),
                ]))
            await client.close()
            #expect(response.grpcStatus == 0, "\(response.grpcMessage)")
            let answers = try responses(response.data)
            try #require(answers.count == 4)
            #expect(answers[0].validHost == "h")
            #expect(answers[0].answer == .services([
                "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
                "tokenwire.v1.TokenStream",
            ]))
            guard case .error(let code, let message) = answers[1].answer else {
                Issue.record("expected an error for the unknown symbol, got \(answers[1].answer)")
                return
            }
            #expect(code == 5 && message.contains("no.such.Thing"))
            guard case .fileDescriptors(let files) = answers[2].answer else {
                Issue.record("expected the file, got \(answers[2].answer)")
                return
            }
            #expect(files.first == ProtoDescriptorIndexFile.tokenwire)
            guard case .error(3, _) = answers[3].answer else {
                Issue.record("a request with no query gets INVALID_ARGUMENT, got \(answers[3].answer)")
                return
            }
        }
    }

    @Test func reflectionNeedsABearerTokenWhenTheServerTakesTokens() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tokens = try certificates.write("tokens", "acme \(TLSAndAuthTests.acmeToken)\n")
        try await withTestServer(configure: { $0.authTokensPath = tokens }) { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            let body = framed([ServerReflectionRequest(query: .listServices(""))])
            let refused = try await client.send(path: Self.v1, body: body)
            #expect(refused.grpcStatus == 16)
            let allowed = try await client.send(
                path: Self.v1, extraHeaders: [HTTP2Header("authorization", "Bearer \(TLSAndAuthTests.acmeToken)")], body: body)
            #expect(allowed.grpcStatus == 0)
            #expect(try responses(allowed.data).count == 1)
            await client.close()
        }
    }
}

/// The served tokenwire.proto's descriptor, as the index holds it.
enum ProtoDescriptorIndexFile {
    static var tokenwire: [UInt8]? {
        (try? ProtoDescriptorIndex(fileDescriptorSet: ServedDescriptors.fileDescriptorSet))?.files(named: "tokenwire/v1/tokenwire.proto")?.first
    }
}
