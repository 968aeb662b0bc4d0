import Synchronization
import TokenwireCore

/// The one response stream of a `GenerateBatch` call, shared by all its running items.
///
/// - Every frame gets the call's next `seq` in the same critical section that queues it,
///   so the client sees seq 1, 2, 3, … without gaps or reordering however the items'
///   tasks interleave.
/// - When the stream's queue is full (the client's window is closed), the first item to
///   notice waits for the stream to drain and the others wait for that item: every item
///   stops, so the batch follows the client's pace and the queue stays bounded by the
///   stream's watermarks (plus one frame per running item).
final class BatchFrameSequencer: Sendable {
    private struct Waiting {
        /// Whether an item is waiting on the stream itself.
        var leader = false
        var followers: [CheckedContinuation<Void, Never>] = []
    }

    private let writer: GRPCResponseWriter
    private let lastSeq = Mutex<UInt64>(0)
    private let waiting = Mutex(Waiting())

    init(writer: GRPCResponseWriter) {
        self.writer = writer
    }

    /// Frames sent so far.
    var framesSent: UInt64 { lastSeq.withLock { $0 } }

    /// Queues `event` as the next frame of the call, tagged with the item's `index`,
    /// without waiting; `settle` the result outside any lock.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func enqueue(_ event: TokenEvent, index: UInt32) throws(TokenwireError) -> GRPCResponseWriter.Enqueued {
        // Numbered and queued in one critical section: frames leave in seq order.
        try lastSeq.withLock { lastSeq throws(TokenwireError) in
            let enqueued = try writer.enqueue(TokenFrame(seq: lastSeq + 1, index: index, event: event))
            lastSeq += 1
            return enqueued
        }
    }

    /// Waits as a queued frame asks: for the client's window (one item on the stream, the
    /// others behind it) or for the next turn on the loop.
    /// - Throws: `TokenwireError(.cancelled)` once the client has gone away.
    func settle(_ enqueued: GRPCResponseWriter.Enqueued) async throws {
        if enqueued.mustWaitForCapacity {
            try await waitForCapacity()
        } else {
            try await writer.settle(enqueued)
        }
    }

    /// Waits for the client's window after an item's `offer` found the stream full.
    func waitUntilReady() async throws {
        try await waitForCapacity()
    }

    /// The first caller waits on the stream; later callers wait for the first. Followers
    /// need no cancellation handling: the leader's wait ends when the stream drains,
    /// closes or the call is cancelled, and then it releases them all.
    private func waitForCapacity() async throws {
        let isLeader = waiting.withLock { waiting -> Bool in
            if waiting.leader { return false }
            waiting.leader = true
            return true
        }
        guard isLeader else {
            await withCheckedContinuation { continuation in
                let stillWaiting = waiting.withLock { waiting -> Bool in
                    guard waiting.leader else { return false }
                    waiting.followers.append(continuation)
                    return true
                }
                if !stillWaiting { continuation.resume() }
            }
            return
        }
        defer {
            let followers = waiting.withLock { waiting in
                waiting.leader = false
                defer { waiting.followers.removeAll() }
                return waiting.followers
            }
            for follower in followers { follower.resume() }
        }
        try await writer.waitForCapacity()
    }
}
