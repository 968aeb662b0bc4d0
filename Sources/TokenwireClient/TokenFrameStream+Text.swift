public import TokenwireCore

extension TokenFrameStream {
    /// The text deltas of the stream as they arrive (StreamStart, tool calls, reasoning,
    /// heartbeats and Finish skipped), for callers that want only the words:
    ///
    /// ```swift
    /// for try await piece in client.generate(request).text { print(piece, terminator: "") }
    /// ```
    ///
    /// Errors end the sequence as they end the frames (a `TokenwireError`).
    public var text: AsyncCompactMapSequence<TokenFrameStream, String> {
        compactMap { frame in
            if case .text(let piece) = frame.event { piece } else { nil }
        }
    }

    /// The whole text of the stream, once it has ended.
    /// - Throws: the `TokenwireError` that ended the call, if it was not OK.
    public func collectText() async throws -> String {
        var whole = ""
        for try await piece in text { whole += piece }
        return whole
    }
}
