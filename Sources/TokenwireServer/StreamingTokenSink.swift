import TokenwireCore

/// Sends a provider's events to the client as `TokenFrame`s, numbering them 1, 2, 3, ...
///
/// StreamStart goes out just before the provider's first event, so a provider that fails
/// before producing anything ends the call with a trailers-only error.
final class StreamingTokenSink: TokenSink {
    private let writer: GRPCResponseWriter
    private let start: StreamStart
    private let index: UInt32
    private var seq: UInt64 = 0
    private(set) var eventsSent = 0

    init(writer: GRPCResponseWriter, start: StreamStart, index: UInt32 = 0) {
        self.writer = writer
        self.start = start
        self.index = index
    }

    func send(_ event: TokenEvent) async throws {
        if seq == 0 {
            seq = 1
            try await writer.write(TokenFrame(seq: 1, index: index, event: .start(start)))
        }
        seq += 1
        eventsSent += 1
        try await writer.write(TokenFrame(seq: seq, index: index, event: event))
    }
}
