public import Logging
public import NIOCore

/// One HTTP/2 connection: an nghttp2 session driven by a NIO channel.
///
/// Bytes read from the channel go into nghttp2; nghttp2's output is written back in one
/// write per event-loop tick. Stream events go to the `delegate`; response and request
/// bodies come from `HTTP2OutboundStream`s that any thread may fill.
///
/// - Important: Not thread-safe. Every method must be called on the channel's event loop.
public final class HTTP2ConnectionHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public enum Role: Sendable { case server, client }

    /// The event loop that owns this connection.
    public let eventLoop: any EventLoop
    /// Held strongly until the connection closes, then released (which breaks the cycle
    /// with a delegate that holds this handler).
    public var delegate: (any HTTP2ConnectionDelegate)?
    public let role: Role
    let configuration: HTTP2Configuration
    let keepalive: HTTP2KeepalivePolicy
    let logger: Logger
    let session: NGHTTP2Session
    let scheduler: HTTP2FlushScheduler
    var context: ChannelHandlerContext?
    var outbounds: [HTTP2StreamID: HTTP2OutboundStream] = [:]
    var openStreams: Set<HTTP2StreamID> = []
    var flushNeeded = false
    /// Close the channel once the pending output is written (GOAWAY sent, drain done).
    var closeAfterFlush = false
    /// Streams answered before their request ended, to reset once the answer is out.
    var resetsAfterResponse: [HTTP2StreamID] = []
    var isClosed = false
    var pingState = PingState()
    var lifetimeTimers = LifetimeTimers()
    var shutdownState: ShutdownState = .running
    private let allocator = ByteBufferAllocator()

    /// - Parameters:
    ///   - role: whether this end accepted (`server`) or opened (`client`) the connection.
    ///   - eventLoop: the loop of the channel this handler will be added to.
    public init(
        role: Role,
        eventLoop: any EventLoop,
        configuration: HTTP2Configuration = .init(),
        keepalive: HTTP2KeepalivePolicy = .init(),
        logger: Logger
    ) {
        self.role = role
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.keepalive = keepalive
        self.logger = logger
        self.session = NGHTTP2Session(role: role == .server ? .server : .client, configuration: configuration)
        self.scheduler = HTTP2FlushScheduler(eventLoop: eventLoop)
        self.session.delegate = self
    }

    // MARK: Channel events

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        scheduler.setFlush { streams in loopBound.value.flushStreams(streams) }
        if context.channel.isActive { channelActiveOnce() }
    }

    public func channelActive(context: ChannelHandlerContext) {
        channelActiveOnce()
        context.fireChannelActive()
    }

    private(set) var activated = false
    private func channelActiveOnce() {
        guard !activated else { return }
        activated = true
        if let (errorCode, reason) = lifetimeTimers.refusal {
            close(errorCode: errorCode, reason: reason)
            return
        }
        startKeepaliveTimer()
        startPrefaceTimer()
        startAgeTimer()
        startIdleTimer()
        flush()  // the connection preface and our SETTINGS
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(error: nil)
        self.context = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        do {
            try session.receive(bytes)
        } catch {
            logger.debug("closing HTTP/2 connection: \(error)")
            flushNeeded = true
            flush()
            context.close(promise: nil)
            return
        }
        flushNeeded = true
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.connectionReadComplete(self)
        if flushNeeded { flush() }
        context.fireChannelReadComplete()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        tearDown(error: nil)
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("HTTP/2 connection error: \(error)")
        tearDown(error: error)
        context.close(promise: nil)
    }

    private func tearDown(error: (any Error)?) {
        guard !isClosed else { return }
        isClosed = true
        scheduler.setFlush(nil)
        stopTimers()
        let closed = HTTP2StreamClosedError(errorCode: .cancel, reason: "the connection closed")
        for outbound in outbounds.values { outbound.close(closed) }
        outbounds.removeAll()
        // The delegate hears of the lost connection once, not of each stream as a reset:
        // a client must report UNAVAILABLE (connection lost), not CANCELLED.
        openStreams.removeAll()
        delegate?.connectionClosed(self, error: error)
        delegate = nil
    }

    // MARK: Output

    /// Writes everything nghttp2 has ready, once, with one flush. Safe to call from
    /// delegate callbacks: then it runs when nghttp2 returns.
    public func flush() {
        guard !session.isInsideCallback else {
            flushNeeded = true
            return
        }
        flushNeeded = false
        guard let context, !isClosed, context.channel.isWritable else { return }
        var wroteAny = false
        do {
            var more = true
            while more {
                var buffer = allocator.buffer(capacity: 16 * 1024)
                more = try session.produceOutput(into: &buffer, limit: 256 * 1024)
                if buffer.readableBytes > 0 {
                    context.write(wrapOutboundOut(buffer), promise: nil)
                    wroteAny = true
                }
                if !more, !resetsAfterResponse.isEmpty {
                    for id in resetsAfterResponse where !session.isRemoteClosed(streamID: id) {
                        session.submitReset(streamID: id, errorCode: .noError)
                    }
                    resetsAfterResponse.removeAll()
                    more = true
                }
                if !context.channel.isWritable { break }
            }
        } catch {
            logger.debug("closing HTTP/2 connection: \(error)")
            context.close(promise: nil)
            return
        }
        if wroteAny {
            context.flush()
        }
        // Closing only here, after the write, keeps the last frames (final DATA, trailers,
        // GOAWAY) that nghttp2 produced from being dropped with the socket.
        if closeAfterFlush || !session.isAlive {
            logger.debug("closing HTTP/2 connection", metadata: ["reason": "\(closeAfterFlush ? "requested" : "GOAWAY done")"])
            context.close(promise: nil)
        }
    }

    func flushStreams(_ streams: [HTTP2OutboundStream]) {
        guard !isClosed else { return }
        // gRPC A8: sending HEADERS or DATA (not our PING ACKs) resets the PING strikes.
        pingState.sentData()
        for outbound in streams {
            switch outbound.takeFlushAction() {
            case .none:
                continue
            case .resumeData(let id):
                guard outbounds[id] === outbound else { continue }
                session.resumeData(streamID: id)
            case .submitHeaders(let id):
                guard outbounds[id] === outbound else { continue }
                if !session.submitResponse(streamID: id, headers: outbound.headers) {
                    session.submitReset(streamID: id, errorCode: .internalError)
                }
            case .submitTrailersOnly(let id, let trailers):
                guard outbounds[id] === outbound else { continue }
                outbounds.removeValue(forKey: id)
                respondHeadersOnly(streamID: id, headers: outbound.headers + (trailers ?? []))
            }
        }
        flush()
    }

    // MARK: Streams

    /// Makes the queue for a stream's response (server) or request (client) body.
    /// - Parameter headers: the HEADERS that start it.
    public func makeOutboundStream(headers: [HTTP2Header]) -> HTTP2OutboundStream {
        HTTP2OutboundStream(headers: headers, scheduler: scheduler, configuration: configuration)
    }

    /// Server: registers `outbound` as the response of `streamID`. Its headers go out with
    /// the first flush, so a response that finishes before writing anything goes out as
    /// one HEADERS frame with END_STREAM.
    public func startResponse(streamID: HTTP2StreamID, outbound: HTTP2OutboundStream) {
        guard !isClosed, openStreams.contains(streamID) else {
            outbound.close(HTTP2StreamClosedError(errorCode: .cancel, reason: "the stream closed before the response started"))
            return
        }
        outbound.attach(streamID: streamID, headersSubmitted: false)
        outbounds[streamID] = outbound
    }

    /// Server: answers at once with one HEADERS frame that ends the stream.
    public func respondHeadersOnly(streamID: HTTP2StreamID, headers: [HTTP2Header]) {
        pingState.sentData()
        outbounds.removeValue(forKey: streamID)?.close(
            HTTP2StreamClosedError(errorCode: .noError, reason: "the response ended early"))
        guard session.submitHeadersOnlyResponse(streamID: streamID, headers: headers) else {
            session.submitReset(streamID: streamID, errorCode: .internalError)
            flush()
            return
        }
        // RFC 9113 / gRPC: a response that ends before the request did is followed by
        // RST_STREAM(NO_ERROR) so the client stops sending. nghttp2 would let a reset
        // submitted now overtake the HEADERS, so it is submitted once they are written.
        resetsAfterResponse.append(streamID)
        flush()
    }

    /// Client: opens a stream whose headers and body come from `outbound`.
    /// - Returns: the new stream's id.
    /// - Throws: when the connection cannot open more streams.
    public func startRequest(outbound: HTTP2OutboundStream) throws -> HTTP2StreamID {
        guard !isClosed else { throw HTTP2StreamClosedError(errorCode: .cancel, reason: "the connection is closed") }
        let id = try session.submitRequest(headers: outbound.headers)
        outbound.attach(streamID: id, headersSubmitted: true)
        outbounds[id] = outbound
        openStreams.insert(id)
        flush()
        return id
    }

    /// Resets a stream (RST_STREAM) with `errorCode`.
    public func resetStream(_ streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        guard !isClosed else { return }
        session.submitReset(streamID: streamID, errorCode: errorCode)
        flush()
    }

    /// With `manualWindowUpdates`: hands `bytes` of received DATA back to the peer's window.
    public func consume(streamID: HTTP2StreamID, bytes: Int) {
        guard !isClosed, bytes > 0 else { return }
        session.consume(streamID: streamID, bytes: bytes)
        flush()
    }

    /// Streams currently open on this connection.
    public var openStreamCount: Int { openStreams.count }
}

// MARK: - NGHTTP2SessionDelegate

extension HTTP2ConnectionHandler: NGHTTP2SessionDelegate {
    func sessionReceivedHeaders(streamID: HTTP2StreamID, headers: [HTTP2Header], endStream: Bool) {
        if role == .server { streamOpened(streamID) }
        delegate?.connection(self, receivedHeaders: headers, streamID: streamID, endStream: endStream)
    }

    func sessionRefusedHeaders(streamID: HTTP2StreamID, _ refusal: HTTP2HeaderListTooLarge, endStream: Bool) {
        logger.debug("refusing a stream: header list too large", metadata: ["stream": "\(streamID)", "size": "\(refusal.decodedSize)"])
        if role == .server { streamOpened(streamID) }
        if let delegate {
            delegate.connection(self, refusedHeaders: refusal, streamID: streamID, endStream: endStream)
        } else {
            session.submitReset(streamID: streamID, errorCode: .protocolError)
        }
    }

    func sessionReceivedSettings() {
        prefaceReceived()
    }

    func sessionReceivedData(streamID: HTTP2StreamID, data: ByteBuffer) {
        delegate?.connection(self, receivedData: data, streamID: streamID)
    }

    func sessionReceivedEndStream(streamID: HTTP2StreamID) {
        delegate?.connection(self, receivedEndStream: streamID)
    }

    func sessionClosedStream(streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        let reason = errorCode == .noError ? "the stream closed" : "the peer reset the stream (\(errorCode))"
        outbounds.removeValue(forKey: streamID)?.close(HTTP2StreamClosedError(errorCode: errorCode, reason: reason))
        if openStreams.remove(streamID) != nil {
            delegate?.connection(self, closedStream: streamID, errorCode: errorCode)
        }
        if openStreams.isEmpty { streamsDidDrain() }
    }

    func sessionReceivedPing(ack: Bool, payload: UInt64) {
        if ack { pingAcknowledged(payload: payload) } else { pingReceived() }
    }

    func sessionReceivedGoAway(lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        delegate?.connection(self, receivedGoAway: lastStreamID, errorCode: errorCode)
    }

    func outboundStream(for streamID: HTTP2StreamID) -> HTTP2OutboundStream? {
        outbounds[streamID]
    }
}
