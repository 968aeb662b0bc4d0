import NIOCore
import NIOPosix

/// Wakes an event loop from the loop itself: a UDP socket on loopback that sends one
/// byte to itself, which makes the loop's next poll return at once.
///
/// NIO does not wake its selector for work enqueued from the loop thread (it expects to
/// look at its queue before sleeping), but `LoopTickGate` releases producers after that
/// look. A datagram to ourselves costs two system calls and no thread switch, where
/// waking the loop from another thread costs two context switches per tick.
final class LoopWaker {
    private let channel: any Channel
    private let destination: SocketAddress
    private var byte: ByteBuffer

    private init(channel: any Channel, destination: SocketAddress) {
        self.channel = channel
        self.destination = destination
        self.byte = channel.allocator.buffer(capacity: 1)
        self.byte.writeInteger(UInt8(1))
    }

    /// Binds the socket on `eventLoop`.
    static func make(on eventLoop: any EventLoop) async throws -> NIOLoopBound<LoopWaker> {
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Discard()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let address = channel.localAddress else {
            throw ChannelError.unknownLocalAddress
        }
        return try await eventLoop.submit {
            NIOLoopBound(LoopWaker(channel: channel, destination: address), eventLoop: eventLoop)
        }.get()
    }

    /// Makes the loop's next poll return immediately. Call on the loop.
    func wake() {
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: byte), promise: nil)
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Reads and drops the wake-up bytes.
    private final class Discard: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }
}
