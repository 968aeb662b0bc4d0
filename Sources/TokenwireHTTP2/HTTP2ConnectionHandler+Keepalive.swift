import NIOCore

/// Payload of the PING between the two GOAWAY frames of a graceful shutdown.
private let shutdownPingPayload: UInt64 = 0x7477_676f_6177_6179  // "twgoaway"
/// Payload of our keepalive PINGs.
private let keepalivePingPayload: UInt64 = 0x7477_6b65_6570_616c  // "twkeepal"

extension HTTP2ConnectionHandler {
    struct PingState {
        var lastPingReceived: NIODeadline?
        var strikes = 0
        var keepaliveTask: RepeatedTask?
        var timeoutTask: Scheduled<Void>?

        /// gRPC A8: sending HEADERS or DATA resets the strike count.
        mutating func sentData() { strikes = 0 }
    }

    enum ShutdownState {
        case running
        /// First GOAWAY and PING sent, waiting for the PING's ACK.
        case noticeSent
        /// Final GOAWAY sent; the connection closes once its streams finish.
        case goAwaySent
    }

    // MARK: Graceful shutdown

    /// Starts gRPC's two-phase graceful shutdown: GOAWAY with the highest stream id, a
    /// PING round trip (so the client has seen it), then GOAWAY with the real last stream
    /// id. Open streams go on; the connection closes when the last one ends.
    public func beginGracefulShutdown() {
        guard !isClosed, case .running = shutdownState, role == .server else { return }
        shutdownState = .noticeSent
        session.submitShutdownNotice()
        session.submitPing(payload: shutdownPingPayload)
        flush()
    }

    /// Ends the connection now: GOAWAY, then close; open streams are reset. A peer that
    /// stopped reading cannot take the GOAWAY: the socket closes a second later anyway.
    public func close(errorCode: HTTP2ErrorCode = .noError, reason: String) {
        // One GOAWAY per connection: a flood that earns a GOAWAY keeps arriving until the
        // socket closes, and each PING of it would otherwise queue another.
        guard !isClosed, !closeAfterFlush else { return }
        session.submitGoAway(lastStreamID: session.lastProcessedStreamID, errorCode: errorCode, debugData: reason)
        closeAfterFlush = true
        flush()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: .seconds(1)) { loopBound.value.closeNow() }
    }

    /// The last open stream closed. Often called from inside nghttp2's output pass, so
    /// the close waits for that pass's bytes to be written.
    func streamsDidDrain() {
        startIdleTimer()
        if case .goAwaySent = shutdownState {
            closeAfterFlush = true
            flush()
        }
    }

    private func sendFinalGoAway() {
        shutdownState = .goAwaySent
        session.submitGoAway(lastStreamID: session.lastProcessedStreamID, errorCode: .noError, debugData: "graceful shutdown")
        if openStreams.isEmpty { closeAfterFlush = true }
        flush()
    }

    // MARK: PINGs

    /// Sends a PING (the peer's ACK is consumed here; keepalive payloads are reserved).
    public func sendPing(payload: UInt64) {
        guard !isClosed else { return }
        session.submitPing(payload: payload)
        flush()
    }

    func pingAcknowledged(payload: UInt64) {
        switch payload {
        case shutdownPingPayload:
            if case .noticeSent = shutdownState { sendFinalGoAway() }
        case keepalivePingPayload:
            pingState.timeoutTask?.cancel()
            pingState.timeoutTask = nil
        default:
            break
        }
    }

    /// nghttp2 answers every PING itself; this only enforces the strike policy.
    func pingReceived() {
        guard role == .server else { return }
        let now = NIODeadline.now()
        defer { pingState.lastPingReceived = now }
        guard openStreams.isEmpty, !closeAfterFlush, let last = pingState.lastPingReceived else { return }
        let minimum = TimeAmount(keepalive.minimumPingIntervalWithoutCalls)
        guard now - last < minimum else { return }
        pingState.strikes += 1
        if pingState.strikes > keepalive.maxPingStrikes {
            logger.debug("closing connection: too many PINGs without an open call")
            close(errorCode: .enhanceYourCalm, reason: "too_many_pings")
        }
    }

    func startKeepaliveTimer() {
        guard let interval = keepalive.pingInterval else { return }
        let amount = TimeAmount(interval)
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        pingState.keepaliveTask = eventLoop.scheduleRepeatedTask(initialDelay: amount, delay: amount) { _ in
            loopBound.value.sendKeepalivePing()
        }
    }

    private func sendKeepalivePing() {
        guard !isClosed, pingState.timeoutTask == nil else { return }
        session.submitPing(payload: keepalivePingPayload)
        flush()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        pingState.timeoutTask = eventLoop.scheduleTask(in: TimeAmount(keepalive.pingTimeout)) {
            loopBound.value.logger.info("closing connection: keepalive PING not answered in time")
            loopBound.value.close(errorCode: .noError, reason: "keepalive timeout")
        }
    }

    func stopTimers() {
        stopLifetimeTimers()
        pingState.keepaliveTask?.cancel()
        pingState.keepaliveTask = nil
        pingState.timeoutTask?.cancel()
        pingState.timeoutTask = nil
    }
}
