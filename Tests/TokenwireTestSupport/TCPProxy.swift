import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on a free loopback port that relays every connection to `127.0.0.1:target`
/// and can cut them: a real connection loss for the client and the server (each sees its
/// socket closed), not a cancel either of them sent.
public final class TCPProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    private let listener: any Channel
    private let registry: Registry

    private init(port: Int, listener: any Channel, registry: Registry) {
        self.port = port
        self.listener = listener
        self.registry = registry
    }

    /// Starts relaying to `target` (on NIO's singleton event loops).
    public static func start(to target: Int) async throws -> TCPProxy {
        let registry = Registry()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                    .connect(host: "127.0.0.1", port: target)
                    .flatMapThrowing { outbound in
                        try outbound.pipeline.syncOperations.addHandler(Glue(partner: inbound))
                        try inbound.pipeline.syncOperations.addHandler(Glue(partner: outbound))
                        registry.add(inbound)
                        registry.add(outbound)
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = listener.localAddress?.port else { throw ProxyError(message: "the proxy's listener has no port") }
        return TCPProxy(port: port, listener: listener, registry: registry)
    }

    /// How many connections (client side) it carries now.
    public var connectionCount: Int { registry.channels.withLock { $0.count } / 2 }

    /// Closes every connection it carries now, on both sides; new ones are still relayed.
    public func cut() async {
        let channels = registry.channels.withLock { state in
            defer { state.removeAll() }
            return Array(state.values)
        }
        for channel in channels { try? await channel.close() }
    }

    /// Cuts every connection and stops listening.
    public func stop() async {
        try? await listener.close()
        await cut()
    }

    private final class Registry: Sendable {
        let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

        func add(_ channel: any Channel) {
            let id = ObjectIdentifier(channel)
            channels.withLock { $0[id] = channel }
            channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: id) } }
        }
    }

    /// Copies one side's bytes to the other; when one side closes, so does the other.
    private final class Glue: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let partner: any Channel

        init(partner: any Channel) {
            self.partner = partner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            partner.write(unwrapInboundIn(data), promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            partner.flush()
            context.fireChannelReadComplete()
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// The proxy could not start.
public struct ProxyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
