import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import TokenwireHTTP2

/// What a connection's delegate heard, in order.
enum HeardEvent: Equatable {
    case headers(HTTP2StreamID, [HTTP2Header], endStream: Bool)
    case data(HTTP2StreamID, [UInt8])
    case endStream(HTTP2StreamID)
    case closed(HTTP2StreamID, HTTP2ErrorCode)
    case goAway(HTTP2StreamID, HTTP2ErrorCode)
    case connectionClosed
}

/// A delegate that records what it hears and can act from inside nghttp2's callbacks.
final class RecordingDelegate: HTTP2ConnectionDelegate {
    var events: [HeardEvent] = []
    /// Runs inside the HEADERS callback (nghttp2 is processing input).
    var onHeaders: ((HTTP2ConnectionHandler, HTTP2StreamID) -> Void)?
    /// Runs inside the END_STREAM callback.
    var onEndStream: ((HTTP2ConnectionHandler, HTTP2StreamID) -> Void)?

    func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool) {
        events.append(.headers(streamID, headers, endStream: endStream))
        onHeaders?(connection, streamID)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID) {
        events.append(.data(streamID, Array(data.readableBytesView)))
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID) {
        events.append(.endStream(streamID))
        onEndStream?(connection, streamID)
    }

    func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        events.append(.closed(streamID, errorCode))
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        events.append(.goAway(lastStreamID, errorCode))
    }

    func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?) {
        events.append(.connectionClosed)
    }

    /// Response streams started by `startResponses()`, in the order their requests ended.
    var responses: [HTTP2OutboundStream] = []

    /// Server: starts a response (headers queued, no data yet) for each request as it ends,
    /// from inside nghttp2's input processing, and keeps it in `responses`.
    func startResponses() {
        onEndStream = { [unowned self] connection, id in
            let outbound = connection.makeOutboundStream(headers: InMemoryHTTP2Pair.responseHeaders)
            connection.startResponse(streamID: id, outbound: outbound)
            self.responses.append(outbound)
        }
    }

    /// The DATA bytes heard on `streamID`, joined.
    func bytes(on streamID: HTTP2StreamID) -> [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case .data(streamID, let bytes) = event { bytes } else { [] }
        }
    }
}

/// A client and a server `HTTP2ConnectionHandler` on two `EmbeddedChannel`s of one
/// `EmbeddedEventLoop`, with nothing between them but `pump()`, which carries each side's
/// output to the other until both are quiet: real nghttp2 sessions on both ends, no socket.
struct InMemoryHTTP2Pair {
    let loop = EmbeddedEventLoop()
    let client: HTTP2ConnectionHandler
    let server: HTTP2ConnectionHandler
    let clientChannel: EmbeddedChannel
    let serverChannel: EmbeddedChannel
    let clientDelegate = RecordingDelegate()
    let serverDelegate = RecordingDelegate()

    init(client clientConfiguration: HTTP2Configuration = .init(), server serverConfiguration: HTTP2Configuration = .init()) throws {
        let logger = Logger(label: "pair") { _ in SwiftLogNoOpLogHandler() }
        client = HTTP2ConnectionHandler(role: .client, eventLoop: loop, configuration: clientConfiguration, logger: logger)
        server = HTTP2ConnectionHandler(role: .server, eventLoop: loop, configuration: serverConfiguration, logger: logger)
        client.delegate = clientDelegate
        server.delegate = serverDelegate
        clientChannel = EmbeddedChannel(loop: loop)
        serverChannel = EmbeddedChannel(loop: loop)
        try clientChannel.pipeline.syncOperations.addHandler(client)
        try serverChannel.pipeline.syncOperations.addHandler(server)
        try serverChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try clientChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        try pump()
    }

    /// Runs the loop and carries bytes both ways until neither side writes any more.
    /// - Returns: how many bytes went client → server and server → client.
    @discardableResult
    func pump() throws -> (toServer: Int, toClient: Int) {
        var toServer = 0
        var toClient = 0
        for _ in 0..<1000 {
            loop.run()
            var moved = false
            while let bytes = try clientChannel.readOutbound(as: ByteBuffer.self) {
                toServer += bytes.readableBytes
                moved = true
                if serverChannel.isActive { try serverChannel.writeInbound(bytes) }
            }
            while let bytes = try serverChannel.readOutbound(as: ByteBuffer.self) {
                toClient += bytes.readableBytes
                moved = true
                if clientChannel.isActive { try clientChannel.writeInbound(bytes) }
            }
            if !moved { return (toServer, toClient) }
        }
        Issue.record("the pair never went quiet")
        return (toServer, toClient)
    }

    static let requestHeaders = [
        HTTP2Header(":method", "POST"), HTTP2Header(":scheme", "http"), HTTP2Header(":path", "/svc/Method"),
        HTTP2Header(":authority", "localhost"), HTTP2Header("content-type", "application/grpc"),
    ]
    static let responseHeaders = [HTTP2Header(":status", "200"), HTTP2Header("content-type", "application/grpc")]

    /// Opens a client stream that sends `body` and ends its side.
    func sendRequest(_ body: [UInt8]) throws -> HTTP2StreamID {
        let outbound = client.makeOutboundStream(headers: Self.requestHeaders)
        outbound.writeAndFinish({ $0.writeBytes(body) }, trailers: nil)
        let id = try client.startRequest(outbound: outbound)
        try pump()
        return id
    }
}

@Suite("HTTP/2 wrapper: a client and a server session in memory")
struct HTTP2InMemoryPairTests {
    @Test func requestAndStreamedResponseWithTrailersCrossBothSessions() throws {
        let pair = try InMemoryHTTP2Pair()
        pair.serverDelegate.startResponses()
        let id = try pair.sendRequest([1, 2, 3])
        #expect(pair.serverDelegate.events == [
            .headers(id, InMemoryHTTP2Pair.requestHeaders, endStream: false), .data(id, [1, 2, 3]), .endStream(id),
        ])
        let outbound = try #require(pair.serverDelegate.responses.first)
        _ = try outbound.enqueue { $0.writeBytes([4, 5]) }
        _ = try outbound.enqueue { $0.writeBytes([6]) }
        outbound.finish(trailers: [HTTP2Header("grpc-status", "0")])
        try pair.pump()

        #expect(pair.clientDelegate.bytes(on: id) == [4, 5, 6])
        #expect(pair.clientDelegate.events.first == .headers(id, InMemoryHTTP2Pair.responseHeaders, endStream: false))
        #expect(pair.clientDelegate.events.suffix(2) == [
            .headers(id, [HTTP2Header("grpc-status", "0")], endStream: true), .closed(id, .noError),
        ])
        #expect(pair.serverDelegate.events.last == .closed(id, .noError))
        #expect(pair.server.openStreamCount == 0)
        #expect(pair.client.openStreamCount == 0)
    }

    @Test func answerGivenFromInsideTheHeadersCallbackGoesOutAsOneHeadersFrameThenAReset() throws {
        let pair = try InMemoryHTTP2Pair()
        let trailersOnly = InMemoryHTTP2Pair.responseHeaders + [HTTP2Header("grpc-status", "12")]
        pair.serverDelegate.onHeaders = { connection, id in
            // Re-entrant: nghttp2 is inside mem_recv; the flush this asks for must wait for it.
            connection.respondHeadersOnly(streamID: id, headers: trailersOnly)
        }
        // The request does not end: the server answers before it, so RST_STREAM(NO_ERROR)
        // must follow its HEADERS (and never overtake it).
        let outbound = pair.client.makeOutboundStream(headers: InMemoryHTTP2Pair.requestHeaders)
        let id = try pair.client.startRequest(outbound: outbound)
        try pair.pump()

        #expect(pair.clientDelegate.events == [.headers(id, trailersOnly, endStream: true), .closed(id, .noError)])
        #expect(!outbound.isOpen)
        #expect(pair.serverDelegate.events.last == .closed(id, .noError))
    }

    @Test func peerResetFailsTheWritersAndReportsItsCode() throws {
        let pair = try InMemoryHTTP2Pair()
        pair.serverDelegate.startResponses()
        let id = try pair.sendRequest([])
        let outbound = try #require(pair.serverDelegate.responses.first)
        _ = try outbound.enqueue { $0.writeBytes([1]) }
        try pair.pump()

        pair.client.resetStream(id, errorCode: .cancel)
        try pair.pump()

        #expect(pair.serverDelegate.events.last == .closed(id, .cancel))
        #expect(!outbound.isOpen)
        do {
            _ = try outbound.enqueue { $0.writeBytes([2]) }
            Issue.record("a write after the reset was taken")
        } catch let error as HTTP2StreamClosedError {
            #expect(error.errorCode == .cancel)
        }
    }

    @Test func receiverThatDoesNotConsumeHoldsTheSenderToItsWindow() throws {
        var clientConfiguration = HTTP2Configuration()
        clientConfiguration.manualWindowUpdates = true
        clientConfiguration.initialWindowSize = 1000
        let pair = try InMemoryHTTP2Pair(client: clientConfiguration)
        pair.serverDelegate.startResponses()
        let id = try pair.sendRequest([])
        let outbound = try #require(pair.serverDelegate.responses.first)
        _ = try outbound.enqueue { $0.writeRepeatingByte(9, count: 5000) }
        try pair.pump()

        #expect(pair.clientDelegate.bytes(on: id).count == 1000)
        #expect(outbound.queuedBytes == 4000)

        pair.client.consume(streamID: id, bytes: 1000)
        try pair.pump()
        #expect(pair.clientDelegate.bytes(on: id).count == 2000)
        #expect(outbound.queuedBytes == 3000)
    }

    @Test func bytesThatAreNotHTTP2CloseTheConnectionAndTellTheDelegateOnce() throws {
        let loop = EmbeddedEventLoop()
        let delegate = RecordingDelegate()
        let server = HTTP2ConnectionHandler(
            role: .server, eventLoop: loop, logger: Logger(label: "pair") { _ in SwiftLogNoOpLogHandler() })
        server.delegate = delegate
        let channel = EmbeddedChannel(handler: server, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        loop.run()

        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        loop.run()

        #expect(!channel.isActive)
        #expect(delegate.events == [.connectionClosed])
    }

    @Test func lostConnectionFailsEveryOpenStreamsWriterWithoutPerStreamCloses() throws {
        let pair = try InMemoryHTTP2Pair()
        pair.serverDelegate.startResponses()
        let first = try pair.sendRequest([])
        let second = try pair.sendRequest([])
        #expect(first != second)
        let responses = pair.serverDelegate.responses
        #expect(responses.count == 2)

        _ = try pair.serverChannel.close().wait()
        pair.loop.run()

        #expect(responses.allSatisfy { !$0.isOpen })
        #expect(pair.serverDelegate.events.last == .connectionClosed)
        #expect(!pair.serverDelegate.events.contains { if case .closed = $0 { true } else { false } })
    }
}
