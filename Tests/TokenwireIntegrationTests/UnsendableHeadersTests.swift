import Logging
import NIOCore
import NIOPosix
import Testing
import TokenwireHTTP2
import TokenwireTestSupport

/// A response whose HEADERS nghttp2 cannot send (larger than it will pack) ends in
/// RST_STREAM instead of leaving the client waiting forever.
@Suite("Unsendable response headers reset the stream")
struct UnsendableHeadersTests {
    /// Answers every request with one DATA byte and trailers of `trailerBytes`.
    final class OversizedTrailersResponder: HTTP2ConnectionDelegate {
        let trailerBytes: Int
        init(trailerBytes: Int) { self.trailerBytes = trailerBytes }

        func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool) {
            let outbound = connection.makeOutboundStream(headers: [HTTP2Header(":status", "200")])
            connection.startResponse(streamID: streamID, outbound: outbound)
            outbound.writeAndFinish({ $0.writeString("x") }, trailers: [HTTP2Header("x-huge", String(repeating: "t", count: trailerBytes))])
        }
        func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID) {}
        func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID) {}
        func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {}
        func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {}
        func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?) {}
    }

    @Test(arguments: [100, 70 * 1024])
    func trailersTooLargeToSendResetTheStreamWithInternalError(trailerBytes: Int) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = HTTP2ConnectionHandler(role: .server, eventLoop: channel.eventLoop, logger: Logger(label: "test"))
                    handler.delegate = OversizedTrailersResponder(trailerBytes: trailerBytes)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let client = try await RawHTTP2Client.connect(port: port)
        let response = try await withTimeout(30, "the stream to end") {
            try await client.send(path: "/x", body: [])
        }
        if trailerBytes < 1024 {
            #expect(response.resetCode == nil)
            #expect(response.trailers.first(named: "x-huge")?.count == trailerBytes)
        } else {
            #expect(response.resetCode == .internalError)
        }
        await client.close()
        try await server.close()
    }
}
