import NIOCore
import NIOPosix
import TokenwireTestSupport

/// A bare TCP client: writes bytes, collects everything the server sends until it closes.
enum RawTCP {
    /// Sends `bytes` in one write (as much as the server reads before it closes) and returns
    /// all the server sent before it closed the connection (bounded by `timeout` seconds).
    static func exchange(port: Int, send bytes: [UInt8], timeout: Double = 30) async throws -> [UInt8] {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(CollectingHandler(collector)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        // The server may close the connection before the whole write is out (it answered
        // what it read first: a flood's GOAWAY): the write then fails, and what it sent
        // before closing is still the answer.
        try? await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        try await withTimeout(timeout, "the server to close the connection") { try await channel.closeFuture.get() }
        return try await channel.eventLoop.submit { collector.bytes }.get()
    }

    private final class Collector: @unchecked Sendable {  // touched only on the channel's loop
        var bytes: [UInt8] = []
    }

    private final class CollectingHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let collector: Collector
        init(_ collector: Collector) { self.collector = collector }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            collector.bytes += unwrapInboundIn(data).readableBytesView
        }
    }
}

/// Splits raw HTTP/2 server output (no preface) into frames.
enum HTTP2FrameScan {
    struct Frame {
        var type: UInt8
        var flags: UInt8
        var streamID: UInt32
        var payload: ArraySlice<UInt8>
    }

    static func frames(in bytes: [UInt8]) -> [Frame] {
        var frames: [Frame] = []
        var position = 0
        while position + 9 <= bytes.count {
            let length = Int(bytes[position]) << 16 | Int(bytes[position + 1]) << 8 | Int(bytes[position + 2])
            let streamID = UInt32(bytes[position + 5] & 0x7f) << 24 | UInt32(bytes[position + 6]) << 16
                | UInt32(bytes[position + 7]) << 8 | UInt32(bytes[position + 8])
            guard position + 9 + length <= bytes.count else { break }
            frames.append(Frame(
                type: bytes[position + 3], flags: bytes[position + 4], streamID: streamID,
                payload: bytes[(position + 9)..<(position + 9 + length)]))
            position += 9 + length
        }
        return frames
    }
}
