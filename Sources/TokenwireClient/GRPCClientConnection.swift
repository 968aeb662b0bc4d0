import NIOCore
import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// The gRPC layer of one client connection: routes HTTP/2 stream events to calls.
///
/// - Important: Event-loop only.
final class GRPCClientConnection: HTTP2ConnectionDelegate {
    private var streams: [HTTP2StreamID: GRPCClientStream] = [:]
    private var closedReason: String?
    /// Whether the server sent GOAWAY: a close after it is the server's drain ending.
    private var receivedGoAway = false
    /// Whether our caller is closing the client: the calls it cuts say so.
    private var isClosingByCaller = false
    private let target: String
    /// `https` over TLS, else `http`.
    private let scheme: String

    /// Whether new calls can start here (no GOAWAY, not closed).
    var isUsable: Bool { closedReason == nil }

    init(target: String, tls: Bool = false) {
        self.target = target
        self.scheme = tls ? "https" : "http"
    }

    /// Opens a call: sends the request; response messages go to `source`.
    func startCall(
        on connection: HTTP2ConnectionHandler, path: String, request: ByteBuffer, timeout: Duration?,
        configuration: ClientConfiguration, metadata: [(name: String, value: String)] = [], source: GRPCClientStream.Source,
        responseMetadata: ResponseMetadata = ResponseMetadata()
    ) -> GRPCClientStream {
        let stream = GRPCClientStream(
            path: path, connection: connection, maxMessageSize: configuration.maxReceiveMessageSize, responseMetadata: responseMetadata,
            onEnd: { [weak self] stream in self?.streams.removeValue(forKey: stream.streamID) })
        stream.source = source
        if let closedReason {
            stream.connectionLost(closedReason, transport: .notProcessed)
            return stream
        }
        var headers = [
            HTTP2Header(":method", "POST"), HTTP2Header(":scheme", scheme), HTTP2Header(":path", path),
            HTTP2Header(":authority", target), HTTP2Header("content-type", "application/grpc"),
            HTTP2Header("te", "trailers"), HTTP2Header("user-agent", "tokenwire-swift/\(TokenwireVersion.current)"),
        ]
        if let timeout { headers.insert(HTTP2Header("grpc-timeout", GRPCTimeout.encode(timeout)), at: 4) }
        for (name, value) in configuration.metadata { headers.append(HTTP2Header(name, value)) }
        for (name, value) in metadata { headers.append(HTTP2Header(name, value)) }
        let outbound = connection.makeOutboundStream(headers: headers)
        outbound.writeAndFinish({ $0.writeImmutableBuffer(request) }, trailers: nil)
        do {
            stream.streamID = try connection.startRequest(outbound: outbound)
        } catch {
            stream.connectionLost("cannot start a call on the connection to \(target): \(error)", transport: .notProcessed)
            return stream
        }
        // Starting the request flushes; the write can find the connection closing (a TLS
        // alert such as "certificate required" arrives just after the handshake) and
        // `connectionClosed` then ran before this stream was in `streams`.
        if let closedReason {
            stream.connectionLost(closedReason)
            return stream
        }
        streams[stream.streamID] = stream
        if let timeout { stream.startDeadline(timeout) }
        return stream
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool) {
        streams[streamID]?.receivedHeaders(headers, endStream: endStream)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID) {
        streams[streamID]?.receivedData(data)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID) {
        // A response ends with trailers (a HEADERS frame); DATA with END_STREAM means none came.
        streams[streamID]?.receivedHeaders([], endStream: true)
    }

    func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        streams[streamID]?.closed(errorCode: errorCode)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        receivedGoAway = true
        closedReason = "the server at \(target) is shutting down (GOAWAY \(errorCode)): reconnect and retry"
        for (id, stream) in streams where id > lastStreamID {
            stream.connectionLost("the server at \(target) did not process this call (GOAWAY): retry it", transport: .notProcessed)
        }
    }

    /// The caller is closing the client: calls still open end saying so.
    func closingByCaller() {
        isClosingByCaller = true
    }

    func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?) {
        let cause = error.map { ": \($0)" } ?? ""
        let reason: String
        var transport = TokenwireError.TransportFailure.connectionLost
        if isClosingByCaller {
            reason = "the client for \(target) was closed by its caller while this call was running"
            transport = .closedByCaller
        } else if receivedGoAway {
            reason = "the server at \(target) closed the connection while shutting down (after its GOAWAY; "
                + "its drain timeout cut this call)" + cause + ": retry, or resume the stream on another server"
        } else {
            reason = "the connection to \(target) was lost" + cause
        }
        closedReason = closedReason ?? reason
        for stream in Array(streams.values) { stream.connectionLost(reason, transport: transport) }
        streams.removeAll()
    }
}
