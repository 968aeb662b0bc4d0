import Synchronization
import TokenwireCore
import TokenwireWire

/// The one response stream of a `GenerateBatch` call, shared by all its running items.
///
/// Every frame gets the call's next `seq` in the same critical section that queues it
/// (under the outbound stream's lock), so the client sees seq 1, 2, 3, … without gaps or
/// reordering however the items' tasks interleave. A full HTTP/2 window suspends whichever
/// item writes next, and so every item: the batch as a whole follows the client's pace.
final class BatchFrameSequencer: Sendable {
    private let writer: GRPCResponseWriter
    private let lastSeq = Atomic<UInt64>(0)

    init(writer: GRPCResponseWriter) {
        self.writer = writer
    }

    /// Frames sent so far.
    var framesSent: UInt64 { lastSeq.load(ordering: .relaxed) }

    /// Sends `event` as the next frame of the call, tagged with the item's `index`.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func send(_ event: TokenEvent, index: UInt32) async throws {
        try await writer.writeFramed { buffer in
            let seq = lastSeq.wrappingAdd(1, ordering: .relaxed).newValue
            GRPCMessageFramer.appendMessage(TokenFrame(seq: seq, index: index, event: event), to: &buffer)
        }
    }
}
