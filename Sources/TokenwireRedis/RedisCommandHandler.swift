import NIOCore

/// The pipeline of one Redis connection: batches of commands go out in the order they are
/// sent, any number in flight; answers come back in that order and fill the oldest pending
/// batch, whose promise completes with its last answer.
///
/// One promise and one timer per batch, not per command: the resume store sends a command
/// per busy stream every few milliseconds, and a timer each (scheduled, then cancelled out
/// of the loop's heap by a linear search) was most of the Redis client's cost.
///
/// A batch that is not fully answered within its timeout closes the connection: the
/// answers after it could no longer be matched to their commands. Every command still
/// unanswered when the connection closes fails (`RedisError.connectionLost`; the first
/// one of a batch that timed out, `RedisError.timedOut`).
///
/// - Important: Event-loop only.
final class RedisCommandHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// One batch's answers, in the order of its commands.
    typealias Answers = [Result<RESPValue, RedisError>]

    private struct Batch {
        let id: UInt64
        let commands: [RESPCommand]
        let promise: EventLoopPromise<Answers>
        let timeout: Scheduled<Void>?

        /// Fails every command after the `answers` it has, the first with `first` and the
        /// others with `others` (nil: `connectionLost` for `reason`), and completes the batch.
        func fail(answers: Answers, first: (String) -> RedisError, others: RedisError?, reason: String) {
            timeout?.cancel()
            var answers = answers
            if answers.count < commands.count {
                answers.append(.failure(first(commands[answers.count].name)))
            }
            while answers.count < commands.count {
                answers.append(.failure(others ?? .connectionLost(command: commands[answers.count].name, reason: reason)))
            }
            promise.succeed(answers)
        }
    }

    /// Arguments this long are written as buffers of their own (see `RESPCommand.encode`).
    static let separateWriteBytes = 4096

    private let parser: RESPParser
    private let peer: String
    private var pending = CircularBuffer<Batch>()
    /// The answers of the oldest pending batch so far (answers come in order: the others
    /// have none yet).
    private var answers = Answers()
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
    var pendingCount: Int { pending.reduce(0) { $0 + $1.commands.count } - answers.count }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(reason: "the connection to \(peer) was taken down")
        self.context = nil
    }

    /// Writes `commands` in one write and flush; `promise` completes with their answers
    /// once the last one is in (or the batch fails), never with an error.
    func send(_ commands: [RESPCommand], promise: EventLoopPromise<Answers>, timeout: Duration) {
        guard !commands.isEmpty else { return promise.succeed([]) }
        guard let context, closedReason == nil else {
            let reason = closedReason ?? "the connection to \(peer) is closed"
            return promise.succeed(commands.map { .failure(.connectionLost(command: $0.name, reason: reason)) })
        }
        var buffer = context.channel.allocator.buffer(capacity: 1024)
        for command in commands {
            command.encode(into: &buffer, separatelyFrom: Self.separateWriteBytes) { part in
                context.write(wrapOutboundOut(part), promise: nil)
            }
        }
        let id = nextID
        nextID += 1
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            loopBound.value.timedOut(id: id, after: timeout)
        }
        pending.append(Batch(id: id, commands: commands, promise: promise, timeout: timer))
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
                guard !pending.isEmpty else {
                    throw RESPProtocolError("an answer arrived with no command waiting for it")
                }
                let batch = pending[pending.startIndex]
                if answers.isEmpty { answers.reserveCapacity(batch.commands.count) }
                if case .error(let message) = value {
                    answers.append(.failure(.server(command: batch.commands[answers.count].name, message: message)))
                } else {
                    answers.append(.success(value))
                }
                if answers.count == batch.commands.count {
                    pending.removeFirst()
                    batch.timeout?.cancel()
                    var complete = Answers()
                    swap(&complete, &answers)
                    batch.promise.succeed(complete)
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
        // Answers come in order: only the oldest batch can have some.
        var answered = Answers()
        if index == pending.startIndex { swap(&answered, &answers) }
        let batch = pending.remove(at: index)
        let name = batch.commands[answered.count].name
        let reason = "\(name) got no answer from \(peer) within \(timeout)"
        batch.fail(answers: answered, first: { .timedOut(command: $0, after: timeout) }, others: nil, reason: reason)
        close(reason: reason, error: nil)
    }

    /// Fails every pending command and closes the connection.
    private func close(reason: String, error: RedisError?) {
        failAll(reason: reason, error: error)
        context?.close(promise: nil)
    }

    private func failAll(reason: String, error: RedisError? = nil) {
        if closedReason == nil { closedReason = reason }
        while let batch = pending.popFirst() {
            var answered = Answers()
            swap(&answered, &answers)
            batch.fail(answers: answered, first: { error ?? .connectionLost(command: $0, reason: reason) }, others: error, reason: reason)
        }
        received = nil
    }
}
