import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPCompression
import TokenwireCore

/// Inflates a request message sent with `grpc-encoding: gzip`, bounded like any request
/// message by the receive limit.
///
/// zlib comes from NIO (`NIOHTTPCompression` carries its own copy, so no system zlib is
/// needed): its request decompressor runs on an `EmbeddedChannel`, synchronously, on
/// the message's bytes. That costs a few microseconds per compressed message, which only
/// the clients that compress pay.
enum GRPCMessageInflater {
    /// - Throws: RESOURCE_EXHAUSTED when the message inflates past `maxSize` bytes;
    ///   INTERNAL when its bytes are not gzip (gRPC PROTOCOL-HTTP2: a message that cannot
    ///   be decompressed is INTERNAL).
    static func gunzip(_ compressed: ByteBuffer, maxSize: Int) throws(TokenwireError) -> ByteBuffer {
        let channel = EmbeddedChannel(handler: NIOHTTPRequestDecompressor(limit: .size(maxSize)))
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")
        head.headers.add(name: "content-encoding", value: "gzip")
        head.headers.add(name: "content-length", value: String(compressed.readableBytes))
        var message = ByteBuffer()
        do {
            try channel.writeInbound(HTTPServerRequestPart.head(head))
            try channel.writeInbound(HTTPServerRequestPart.body(compressed))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                if case .body(var bytes) = part { message.writeBuffer(&bytes) }
            }
        } catch NIOHTTPDecompression.DecompressionError.limit {
            throw .resourceExhausted(
                "the gzip-compressed request message inflates past the receive limit of \(maxSize) bytes (--max-receive-message-size)")
        } catch {
            throw .internal("the request message is marked gzip-compressed but could not be inflated (\(error)): send valid gzip, or no compression")
        }
        return message
    }
}
