public import NIOCore
import NIOPosix

/// One TCP connection to a Redis server, with pipelining: any task may send; commands go
/// out in order and each gets its own answer.
public final class RedisConnection: Sendable {
    /// Where the server is, as in `redis://HOST:PORT[/DB]`.
    public let address: RedisAddress
    private let channel: any Channel
    private let handler: NIOLoopBound<RedisCommandHandler>

    private init(address: RedisAddress, channel: any Channel, handler: NIOLoopBound<RedisCommandHandler>) {
        self.address = address
        self.channel = channel
        self.handler = handler
    }

    /// Connects, and selects the address's database if it is not 0.
    /// - Parameter group: where the connection's loop comes from (nil: NIO's shared group).
    /// - Throws: `RedisError.cannotConnect` naming the address and why.
    public static func connect(
        to address: RedisAddress, on group: (any EventLoopGroup)? = nil,
        connectTimeout: Duration = .seconds(5), limits: RESPParser.Limits = .init()
    ) async throws -> RedisConnection {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(connectTimeout))
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RedisCommandHandler(peer: address.description, limits: limits))
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            throw RedisError.cannotConnect(address: address.description, reason: "\(error)")
        }
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisCommandHandler.self), eventLoop: channel.eventLoop)
        }.get()
        let connection = RedisConnection(address: address, channel: channel, handler: handler)
        if address.database != 0 {
            do {
                _ = try await connection.send(RESPCommand("SELECT", "\(address.database)"))
            } catch {
                connection.close()
                throw RedisError.cannotConnect(address: address.description, reason: "\(error)")
            }
        }
        return connection
    }

    /// Sends one command and waits for its answer.
    /// - Throws: `RedisError`: `.server` for an error reply, `.connectionLost`, `.timedOut`
    ///   (which also closes the connection), `.protocolViolation`.
    public func send(_ command: RESPCommand, timeout: Duration = .seconds(5)) async throws -> RESPValue {
        try await pipeline([command], timeout: timeout)[0].get()
    }

    /// Sends `commands` in one write, without waiting between them, and returns each one's
    /// answer in order (an error reply fails only its own command).
    public func pipeline(_ commands: [RESPCommand], timeout: Duration = .seconds(5)) async -> [Result<RESPValue, RedisError>] {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: RedisCommandHandler.Answers.self)
        let handler = self.handler
        loop.execute { handler.value.send(commands, promise: promise, timeout: timeout) }
        // One wait for the whole pipeline: awaiting each reply in turn costs two thread hops
        // per command (to the loop and back). The promise never fails: a command that got
        // no answer has its error in its place.
        return (try? await promise.futureResult.get()) ?? commands.map {
            .failure(.connectionLost(command: $0.name, reason: "the connection to \(address) was taken down"))
        }
    }

    /// Whether the connection is still open (a closed one fails every command).
    public var isActive: Bool { channel.isActive }

    /// Closes the connection; commands still pending fail with `.connectionLost`.
    public func close() {
        channel.close(promise: nil)
    }

    /// Waits until the connection has closed.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }
}
