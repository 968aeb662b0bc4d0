import NIOCore
public import TokenwireCore
import TokenwireWire

/// The frames of one `Generate` call, in order, as they arrive.
///
/// Iterate it once. It ends after the last frame when the call ends with OK, and throws
/// `TokenwireError` carrying the gRPC status otherwise. Cancelling the iterating task
/// resets the HTTP/2 stream, which stops the server's producer.
public struct TokenFrameStream: AsyncSequence, Sendable {
    public typealias Element = TokenFrame

    let messages: GRPCMessageStream

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var messages: GRPCMessageStream.AsyncIterator

        public mutating func next() async throws -> TokenFrame? {
            guard let message = try await messages.next() else { return nil }
            do {
                return try TokenFrame(decoding: message)
            } catch {
                throw TokenwireError.internal("the server sent a message that is not a tokenwire.v1.TokenFrame: \(error.message)")
            }
        }
    }
}

extension TokenFrameStream {
    /// Reads the whole stream.
    /// - Throws: `TokenwireError` with the call's status when it is not OK (the frames
    ///   read before it are then lost: iterate to keep them).
    public func collect() async throws -> [TokenFrame] {
        var frames: [TokenFrame] = []
        for try await frame in self { frames.append(frame) }
        return frames
    }
}
