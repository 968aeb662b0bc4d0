import NIOCore
public import TokenwireCore
import TokenwireWire

/// The frames of one `Generate` call, in order, as they arrive.
///
/// Iterate it once. It ends after the last frame when the call ends with OK, and throws
/// `TokenwireError` carrying the gRPC status otherwise. Cancelling the iterating task
/// resets the HTTP/2 stream, which stops the server's producer.
///
/// A `Generate` stream survives a lost connection: when the connection under it is lost,
/// it reconnects and resumes with StreamStart's resume token after the last frame read
/// (up to `ClientConfiguration.resumeAttempts` times), so the caller sees every frame
/// once, in order; a call the server did not process (GOAWAY before it started) is sent
/// again. `resumeToken` and `lastSeq` let a caller resume in another process instead.
public struct TokenFrameStream: AsyncSequence, Sendable {
    public typealias Element = TokenFrame

    let messages: GRPCMessageStream
    /// How to call again after a lost connection; nil: never (GenerateBatch).
    let again: Again?

    /// A `Generate` call's way back after its connection failed.
    struct Again: Sendable {
        let client: TokenwireClient
        let request: GenerateRequest
        /// When the caller's deadline passes (the resumed call gets what is left).
        let deadline: ContinuousClock.Instant?
        /// The call's own metadata, sent again with the resume.
        var metadata: [(name: String, value: String)] = []
    }

    /// The response's headers and trailers: of the first call (a stream resumed after a
    /// lost connection continues in another call, whose own are not shown here).
    public var responseMetadata: ResponseMetadata { messages.responseMetadata }

    init(messages: GRPCMessageStream, again: Again? = nil) {
        self.messages = messages
        self.again = again
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator(), again: again, attemptsLeft: again?.client.configuration.resumeAttempts ?? 0)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var messages: GRPCMessageStream.AsyncIterator
        let again: Again?
        var attemptsLeft: Int
        /// The stream's resume token (from StreamStart; empty when the server gave none).
        public private(set) var resumeToken = ""
        /// The seq of the last frame returned (0: none yet).
        public private(set) var lastSeq: UInt64 = 0
        /// What cut the stream, while it is being resumed (until a resumed call's first
        /// frame): a resume that fails names it.
        private var cut: TokenwireError?

        init(messages: GRPCMessageStream.AsyncIterator, again: Again?, attemptsLeft: Int) {
            self.messages = messages
            self.again = again
            self.attemptsLeft = attemptsLeft
        }

        public mutating func next() async throws -> TokenFrame? {
            while true {
                let message: ByteBuffer?
                do {
                    message = try await messages.next()
                } catch let error as TokenwireError {
                    try callAgain(after: error)
                    continue
                }
                guard let message else { return nil }
                let frame: TokenFrame
                do {
                    frame = try TokenFrame(decoding: message)
                } catch {
                    throw TokenwireError.internal("the server sent a message that is not a tokenwire.v1.TokenFrame: \(error.message)")
                }
                if case .start(let start) = frame.event, !start.resumeToken.isEmpty { resumeToken = start.resumeToken }
                lastSeq = frame.seq
                cut = nil
                return frame
            }
        }

        /// After `error` ended the call: resumes the stream (or sends the call again when
        /// the server never processed it), or rethrows.
        private mutating func callAgain(after error: TokenwireError) throws(TokenwireError) {
            guard let again, attemptsLeft > 0, let transport = error.transport, !Task.isCancelled else {
                guard let cut, error.code != .cancelled else { throw error }
                var named = error
                named.message += " (while resuming after seq \(lastSeq), where \(cut.message))"
                throw named
            }
            let request: GenerateRequest
            if transport == .notProcessed, lastSeq == 0 {
                request = again.request
            } else if transport != .closedByCaller, !resumeToken.isEmpty {
                request = GenerateRequest(model: again.request.model, resumeToken: resumeToken, resumeAfterSeq: lastSeq)
            } else {
                throw error
            }
            attemptsLeft -= 1
            // The first cut is what the caller needs to hear of; a failed resume after it
            // is reported as the error itself.
            if cut == nil { cut = error }
            let remaining = again.deadline.map { Swift.max($0 - .now, .milliseconds(1)) }
            let path = "/tokenwire.v1.TokenStream/Generate"
            messages = again.client.call(path, request, deadline: remaining, metadata: again.metadata).makeAsyncIterator()
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
