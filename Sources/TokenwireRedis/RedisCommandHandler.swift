import NIOCore

/// The pipeline of one Redis connection: commands go out in the order they are sent, any
/// number in flight; answers come back in that order and complete the oldest pending
/// command.
///
/// A command that gets no answer within its timeout closes the connection: the answers
/// after it could no longer be matched to their commands. Every command still pending when
/// the connection closes fails (`RedisError.connectionLost`).
///
/// - Important: Event-loop only.
final class RedisCommandHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let id: UInt64
        let name: String
        let promise: EventLoopPromise<RESPValue>
        let timeout: Scheduled<Void>?
    }

    private let parser: RESPParser
    private let peer: String
    private var pending = CircularBuffer<Pending>()
    private var received: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var nextID: UInt64 = 0
    /// Why the connection is no longer usable, once it is not.
    private var closedReason: String?

    /// - Parameter peer: the server's address as errors name it (`redis://HOST:PORT`).
    init(peer: String, limits: RESPParser.Limits = .init()) {
        self.peer = peer
        self.parser = RESPParser(limits: limits)
    }

    /// Commands sent and not yet answered.
    var pendingCount: Int { pending.count }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(reason: "the connection to \(peer) was taken down")
        self.context = nil
    }

    /// Writes `commands` in one write and flush; each promise completes with its answer.
    func send(_ commands: [(RESPCommand, EventLoopPromise<RESPValue>)], timeout: Duration) {
        guard let context, closedReason == nil else {
            let reason = closedReason ?? "the connection to \(peer) is closed"
            for (command, promise) in commands {
                promise.fail(RedisError.connectionLost(command: command.name, reason: reason))
            }
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * commands.count)
        for (command, promise) in commands {
            command.encode(into: &buffer)
            let id = nextID
            nextID += 1
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let timer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                loopBound.value.timedOut(id: id, after: timeout)
            }
            pending.append(Pending(id: id, name: command.name, promise: promise, timeout: timer))
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        do throws(RESPProtocolError) {
            while var buffer = received, let value = try parser.next(from: &buffer) {
                received = buffer.readableBytes == 0 ? nil : buffer
                guard let command = pending.popFirst() else {
                    throw RESPProtocolError("an answer arrived with no command waiting for it")
                }
                command.timeout?.cancel()
                if case .error(let message) = value {
                    command.promise.fail(RedisError.server(command: command.name, message: message))
                } else {
                    command.promise.succeed(value)
                }
            }
            if let buffer = received, buffer.readerIndex > 0 { received = buffer.slice() }
        } catch {
            close(reason: error.description, error: RedisError.protocolViolation(error.description))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(reason: "\(peer) closed the connection")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(reason: "the connection to \(peer) failed: \(error)", error: nil)
    }

    private func timedOut(id: UInt64, after timeout: Duration) {
        guard let index = pending.firstIndex(where: { $0.id == id }) else { return }
        let command = pending.remove(at: index)
        command.promise.fail(RedisError.timedOut(command: command.name, after: timeout))
        close(reason: "\(command.name) got no answer from \(peer) within \(timeout)", error: nil)
    }

    /// Fails every pending command and closes the connection.
    private func close(reason: String, error: RedisError?) {
        failAll(reason: reason, error: error)
        context?.close(promise: nil)
    }

    private func failAll(reason: String, error: RedisError? = nil) {
        if closedReason == nil { closedReason = reason }
        while let command = pending.popFirst() {
            command.timeout?.cancel()
            command.promise.fail(error ?? RedisError.connectionLost(command: command.name, reason: reason))
        }
        received = nil
    }
}
