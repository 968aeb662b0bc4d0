import NIOCore
import TokenwireCore
import TokenwireWire

/// `tokenwire.v1.TokenStream`: Generate, Complete and GenerateBatch over the providers.
struct TokenStreamService: Sendable {
    static let serviceName = "tokenwire.v1.TokenStream"

    let providers: ProviderRegistry

    var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Generate") { request, _, writer in
                try await generate(try GenerateRequest(decoding: request), writer: writer)
            },
            GRPCMethod(path: "/\(Self.serviceName)/Complete") { request, _, writer in
                try await complete(try GenerateRequest(decoding: request), writer: writer)
            },
            GRPCMethod(path: "/\(Self.serviceName)/GenerateBatch") { request, _, _ in
                _ = try BatchRequest(decoding: request)
                throw TokenwireError.unimplemented(
                    "GenerateBatch is not available on this server yet: call Generate once per item")
            },
        ]
    }

    func generate(_ request: GenerateRequest, writer: GRPCResponseWriter) async throws {
        let provider = try providers.provider(for: request.model)
        let start = StreamStart(streamID: Self.makeStreamID(), model: request.model, provider: provider.name)
        let sink = StreamingTokenSink(writer: writer, start: start)
        try await provider.generate(request, into: sink)
    }

    func complete(_ request: GenerateRequest, writer: GRPCResponseWriter) async throws {
        let provider = try providers.provider(for: request.model)
        let collector = CompletionCollector(model: request.model)
        try await provider.generate(request, into: collector)
        try await writer.write(collector.result())
    }

    /// A random id naming one stream, 16 hex digits.
    static func makeStreamID() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
