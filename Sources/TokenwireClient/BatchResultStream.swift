import TokenwireCore

/// The results of one `GenerateBatch` call, one per item, in the order the items finish.
///
/// Iterate it once, or `collect()` it. It ends when the call ends with OK, and throws
/// `TokenwireError` with the call's status otherwise (results already yielded stay
/// valid). Cancelling the iterating task resets the call.
public struct BatchResultStream: AsyncSequence, Sendable {
    public typealias Element = BatchItemResult

    /// The call's raw frames.
    public let frames: TokenFrameStream

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(frames: frames.makeAsyncIterator())
    }

    /// Reads the whole call.
    /// - Returns: every item's result, in index order.
    /// - Throws: `TokenwireError` with the call's status when it is not OK.
    public func collect() async throws -> [BatchItemResult] {
        var results: [BatchItemResult] = []
        for try await result in self { results.append(result) }
        return results.sorted { $0.index < $1.index }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var frames: TokenFrameStream.AsyncIterator
        var assembler = BatchResultAssembler()

        public mutating func next() async throws -> BatchItemResult? {
            while let frame = try await frames.next() {
                if let result = try assembler.add(frame) { return result }
            }
            try assembler.finish()
            return nil
        }
    }
}
