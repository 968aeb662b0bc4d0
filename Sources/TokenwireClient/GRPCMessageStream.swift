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

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: producer.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Producer.AsyncIterator

        public mutating func next() async throws -> ByteBuffer? {
            do {
                return try await base.next()
            } catch is CancellationError {
                throw TokenwireError.cancelled("the call was cancelled by the caller")
            }
        }
    }
}
