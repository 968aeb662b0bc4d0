import NIOCore

extension HTTP2ConnectionHandler {
    /// The timers that end a server connection which does not (or no longer) do anything:
    /// one for the client's connection preface, one for a connection with no open stream.
    struct LifetimeTimers {
        var preface: Scheduled<Void>?
        var idle: Scheduled<Void>?
        /// `maxConnectionAge`, then `maxConnectionAgeGrace`.
        var age: Scheduled<Void>?
        var hasReceivedPreface = false
        /// A refusal to send once the connection is active.
        var refusal: (HTTP2ErrorCode, String)?
    }

    /// Server: the client must complete its preface (the magic string and its SETTINGS)
    /// within `prefaceTimeout`, or the connection closes without a word: a peer that has
    /// not spoken HTTP/2 would not read a GOAWAY. A slowloris client dribbling the preface
    /// holds a socket for no longer than this.
    func startPrefaceTimer() {
        guard role == .server, let timeout = configuration.prefaceTimeout else { return }
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        lifetimeTimers.preface = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let handler = loopBound.value
            guard !handler.lifetimeTimers.hasReceivedPreface else { return }
            handler.logger.debug("closing connection: no HTTP/2 preface in time", metadata: ["timeout": "\(timeout)"])
            handler.closeNow()
        }
    }

    /// Server: past `maxConnectionAge` (±10%) the connection drains (the two-phase GOAWAY),
    /// and past the grace after that it closes.
    func startAgeTimer() {
        guard role == .server, let age = configuration.maxConnectionAge else { return }
        let nanoseconds = Int64(age.components.seconds) * 1_000_000_000 + age.components.attoseconds / 1_000_000_000
        let jittered = TimeAmount.nanoseconds(Int64(Double(nanoseconds) * Double.random(in: 0.9...1.1)))
        let grace = configuration.maxConnectionAgeGrace
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        lifetimeTimers.age = eventLoop.scheduleTask(in: jittered) {
            let handler = loopBound.value
            handler.logger.debug("draining connection: max connection age", metadata: ["age": "\(age)"])
            handler.beginGracefulShutdown()
            guard let grace else { return }
            handler.lifetimeTimers.age = handler.eventLoop.scheduleTask(in: TimeAmount(grace)) {
                loopBound.value.close(errorCode: .noError, reason: "max connection age \(age) and its grace \(grace) have passed")
            }
        }
    }

    func prefaceReceived() {
        lifetimeTimers.hasReceivedPreface = true
        lifetimeTimers.preface?.cancel()
        lifetimeTimers.preface = nil
    }

    /// Server: a connection with no open stream for `idleTimeout` gets GOAWAY(NO_ERROR,
    /// "idle timeout") and closes; gRPC clients reconnect when they next call.
    func startIdleTimer() {
        guard role == .server, let timeout = configuration.idleTimeout, !isClosed else { return }
        lifetimeTimers.idle?.cancel()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        lifetimeTimers.idle = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            let handler = loopBound.value
            guard handler.openStreams.isEmpty else { return }
            handler.logger.debug("closing connection: idle", metadata: ["timeout": "\(timeout)"])
            handler.close(errorCode: .noError, reason: "idle timeout: no call for \(timeout)")
        }
    }

    /// A stream opened on a server connection: it is no longer idle.
    func streamOpened(_ streamID: HTTP2StreamID) {
        openStreams.insert(streamID)
        lifetimeTimers.idle?.cancel()
        lifetimeTimers.idle = nil
    }

    func stopLifetimeTimers() {
        lifetimeTimers.preface?.cancel()
        lifetimeTimers.preface = nil
        lifetimeTimers.idle?.cancel()
        lifetimeTimers.idle = nil
        lifetimeTimers.age?.cancel()
        lifetimeTimers.age = nil
    }

    /// Server: ends a connection that is not to be served (a limit refused it) with
    /// GOAWAY(`errorCode`, `reason`) as soon as it is active, and closes it.
    public func refuse(errorCode: HTTP2ErrorCode, reason: String) {
        if activated {
            close(errorCode: errorCode, reason: reason)
        } else {
            lifetimeTimers.refusal = (errorCode, reason)
        }
    }

    /// Closes the socket at once, whatever is still queued.
    func closeNow() {
        guard !isClosed, let context else { return }
        context.close(promise: nil)
    }
}
