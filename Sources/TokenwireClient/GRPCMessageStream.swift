public import NIOCore
import TokenwireCore

/// The raw response messages of one call, with backpressure: when the consumer falls
/// `bufferedFrames` behind, the client stops crediting the HTTP/2 window.
public struct GRPCMessageStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, GRPCClientStream.Delegate
    >

    let producer: Producer
    /// The call's response headers and trailers, as they arrive.
    public let responseMetadata: ResponseMetadata

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        /// - Throws: `TokenwireError` with the call's status when it ended otherwise than
        ///   OK; `CancellationError` when the consuming task was cancelled (the call is
        ///   then reset with CANCEL), as Swift code expects of a cancelled task.
        public mutating func next() async throws -> ByteBuffer? {
            try await base.next()
        }
    }
}
