public import NIOCore
import Synchronization
import TokenwireCore

/// The request messages of a call that takes a stream of them, in order, as they arrive.
/// Ends when the client half-closes; throws if the call fails meanwhile.
///
/// The messages the handler has not read yet are bounded (`limit` bytes, the server's
/// largest request message): a client that sends faster than its handler reads gets
/// RESOURCE_EXHAUSTED instead of growing the server's memory.
public struct GRPCRequestStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let messages: AsyncThrowingStream<ByteBuffer, any Error>
    private let unread: Unread

    /// Bytes delivered but not yet read by the handler.
    final class Unread: Sendable {
        let bytes = Atomic<Int>(0)
    }

    /// Where the call's event loop puts the messages.
    struct Source: Sendable {
        fileprivate let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
        fileprivate let unread: Unread
        let limit: Int

        /// Hands `messages` to the handler.
        /// - Returns: false when the handler has more than `limit` bytes unread (the
        ///   messages are dropped; the call must fail).
        func yield(_ messages: [ByteBuffer]) -> Bool {
            let bytes = messages.reduce(0) { $0 + $1.readableBytes }
            let unread = self.unread.bytes.add(bytes, ordering: .relaxed).newValue
            guard unread <= limit else { return false }
            for message in messages { continuation.yield(message) }
            return true
        }

        /// The client half-closed: the sequence ends after the messages already given.
        func finish() { continuation.finish() }
    }

    static func make(limit: Int) -> (GRPCRequestStream, Source) {
        let (messages, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let unread = Unread()
        return (GRPCRequestStream(messages: messages, unread: unread), Source(continuation: continuation, unread: unread, limit: limit))
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        let unread: Unread

        public mutating func next() async throws -> ByteBuffer? {
            guard let message = try await base.next() else { return nil }
            unread.bytes.subtract(message.readableBytes, ordering: .relaxed)
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: messages.makeAsyncIterator(), unread: unread)
    }
}
