public import NIOCore

/// The layer above an `HTTP2ConnectionHandler` (the gRPC server or client). Every method
/// is called on the connection's event loop, possibly from inside nghttp2's input
/// processing: implementations may call the handler's `submit`-style methods, which only
/// queue frames, and the handler flushes them afterwards.
public protocol HTTP2ConnectionDelegate: AnyObject {
    /// A HEADERS block arrived: request headers (server), response headers or trailers (client).
    func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool)
    /// A HEADERS block decoded to more than the SETTINGS_MAX_HEADER_LIST_SIZE we advertise;
    /// its fields were dropped. The default resets the stream (PROTOCOL_ERROR).
    func connection(_ connection: HTTP2ConnectionHandler, refusedHeaders refusal: HTTP2HeaderListTooLarge, streamID: HTTP2StreamID, endStream: Bool)
    /// A piece of a stream's DATA arrived.
    func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID)
    /// The peer ended its side of the stream with a DATA frame.
    func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID)
    /// The stream closed: both sides done (`.noError`) or reset with `errorCode`.
    func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode)
    /// The peer sent GOAWAY: streams above `lastStreamID` were not processed.
    func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode)
    /// The connection is gone, and with it every stream still open on it (they get no
    /// `closedStream` of their own).
    func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?)
    /// The bytes of one burst of socket reads have all been processed (NIO's
    /// `channelReadComplete`), before the handler flushes. The default does nothing.
    func connectionReadComplete(_ connection: HTTP2ConnectionHandler)
}

extension HTTP2ConnectionDelegate {
    public func connectionReadComplete(_ connection: HTTP2ConnectionHandler) {}

    public func connection(
        _ connection: HTTP2ConnectionHandler, refusedHeaders refusal: HTTP2HeaderListTooLarge, streamID: HTTP2StreamID, endStream: Bool
    ) {
        connection.resetStream(streamID, errorCode: .protocolError)
    }
}
