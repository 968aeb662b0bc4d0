import NIOCore
import TokenwireCore
import TokenwireWire

/// `tokenwire.v1.TokenStream`: Generate, Complete and GenerateBatch over the providers.
struct TokenStreamService: Sendable {
    static let serviceName = "tokenwire.v1.TokenStream"

    let providers: ProviderRegistry
    /// Slots for provider calls, shared by the whole server.
    var admission = AdmissionControl(limit: CallLimits().maxActiveCalls)
    /// Batch concurrency defaults and caps.
    var limits = CallLimits()

    var methods: [GRPCMethod] {
        [
            GRPCMethod(path: "/\(Self.serviceName)/Generate") { request, _, writer in
                let request = try GenerateRequest(decoding: request)
                try await admission.withSlot { try await generate(request, writer: writer) }
            },
            GRPCMethod(path: "/\(Self.serviceName)/Complete") { request, _, writer in
                let request = try GenerateRequest(decoding: request)
                try await admission.withSlot { try await complete(request, writer: writer) }
            },
            GRPCMethod(path: "/\(Self.serviceName)/GenerateBatch") { request, _, writer in
                try await generateBatch(try BatchRequest(decoding: request), writer: writer)
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
