import Foundation
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import TokenwireCore
import TokenwireHTTP2
import TokenwireProviders
@testable import TokenwireServer

/// The synthetic provider's flood model, capped at 32 tokens so that one input costs
/// microseconds, plus a model that fails after one token.
struct HarnessProvider: TokenProvider {
    let name = "synthetic"
    let models = ["synthetic/flood", "synthetic/fail"]

    func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws {
        let count = min(request.maxTokens == 0 ? 16 : request.maxTokens, 32)
        for k in 0..<Int(count) {
            try await sink.send(.text(SyntheticProvider.vocabulary[k & 7]))
            if request.model == "synthetic/fail" { throw TokenwireError.unavailable("the harness provider failed") }
        }
        try await sink.send(.finish(Finish(reason: "length", usage: Usage(outputTokens: count))))
    }
}

/// The client connection preface (RFC 9113 §3.4); every input follows it.
let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

/// One loop for the whole run: an `EmbeddedEventLoop` must be used from the thread that
/// made it, and libFuzzer calls the entry point on one thread.
nonisolated(unsafe) var loop: EmbeddedEventLoop?

/// With TOKENWIRE_FUZZ_VERBOSE set, the harness says what the server did with each input.
let verbose = getenv("TOKENWIRE_FUZZ_VERBOSE") != nil

/// Runs the loop's ready work and discards what the server wrote, until it writes nothing.
/// - Returns: how many bytes the server wrote.
@discardableResult
func settle(_ loop: EmbeddedEventLoop, _ channel: EmbeddedChannel) -> Int {
    var written = 0
    for _ in 0..<64 {
        loop.run()
        var wrote = false
        while let buffer = (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil {
            written += buffer.readableBytes
            wrote = true
        }
        if !wrote { break }
    }
    return written
}

/// The server's HTTP/2 session as `TokenwireServer` sets it up for a connection
/// (`HTTP2ConnectionHandler` in the server role, `GRPCServerConnection` as its delegate,
/// the real method router with TokenStream and Health), on an `EmbeddedChannel`. Calls
/// run as tasks on the channel's loop, as in the server.
///
/// Input: one byte (its low two bits + 1: how many reads), then the bytes a client sends
/// after the connection preface, which the harness adds. Between reads the loop runs and
/// the server's output is read (and dropped). Then an hour passes (deadlines, keepalive),
/// and the connection closes.
/// Invariant: once the connection is closed and the loop has run, no call is still active.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2Server(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let reads = Int(input.byte() & 3) + 1
    let bytes = preface + input.rest
    if loop == nil { loop = EmbeddedEventLoop() }
    let loop = loop!

    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    var configuration = ServerConfiguration()
    configuration.logLevel = .critical
    configuration.limits.maxActiveCalls = 16
    let ledger = CallLedger(keepEnded: verbose ? 100 : 0)
    let admission = AdmissionControl(limit: configuration.limits.maxActiveCalls)
    let registry = ProviderRegistry([HarnessProvider()], aliases: ["flood": "synthetic/flood"])
    let router = GRPCMethodRouter(
        TokenStreamService(providers: registry, admission: admission, limits: configuration.limits).methods
            + HealthService(store: HealthStatusStore(services: [TokenStreamService.serviceName])).methods)

    let channel = EmbeddedChannel(loop: loop)
    let handler = HTTP2ConnectionHandler(
        role: .server, eventLoop: loop, configuration: configuration.http2,
        keepalive: configuration.keepalive, logger: logger)
    let connection = GRPCServerConnection(
        router: router, configuration: configuration,
        scheduling: CallScheduling(executor: EventLoopTaskExecutor(eventLoop: loop), gate: nil),
        ledger: ledger, requestBudget: RequestBufferBudget(limit: configuration.connectionLimits.maxBufferedRequestBytes),
        logger: logger, onClose: {})
    handler.delegate = connection
    do {
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 50051)).wait()
    } catch {
        fatalError("cannot set up the channel: \(error)")
    }
    var written = settle(loop, channel)

    for range in FuzzInput.chunks(count: bytes.count, cuts: (1..<reads).map { bytes.count * $0 / reads }) {
        guard channel.isActive else { break }
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes[range]))
        } catch {
            break  // the server closed the connection
        }
        written += settle(loop, channel)
    }
    loop.advanceTime(by: .hours(1))
    written += settle(loop, channel)
    _ = try? channel.finish(acceptAlreadyClosed: true)
    written += settle(loop, channel)

    let snapshot = ledger.snapshot
    if verbose {
        let ended = snapshot.ended.map { "\($0.path) \($0.status.code)" }
        print("fuzz-http2-server: \(bytes.count) bytes in \(reads) reads; server wrote \(written) bytes; calls started \(snapshot.started), ended \(ended)")
    }
    fuzzRequire(snapshot.active == 0, "\(snapshot.active) of \(snapshot.started) calls still active after the connection closed")
    return 0
}

/// The executable's entry point (SwiftPM links `main` to it): libFuzzer's driver.
@_cdecl("fuzz_http2_server_main")
public func fuzzEntryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    fuzzMain(argc, argv) { fuzzHTTP2Server($0, $1) }
}
