import NIOCore
import TokenwireCore

/// One stream's frames as they were first sent, kept so that a reader who lost its
/// connection can resume after the last frame it saw (issue 10: resumable streams).
///
/// A value: appending, finishing, evicting and reading are plain mutations and queries,
/// and the owner decides where the log lives and who may touch it. Each entry is a frame's
/// `seq` and its gRPC message exactly as written (length prefix included), so a replay
/// copies bytes and re-encodes nothing: a resumed reader sees the same bytes for the same
/// seq.
///
/// Bounded: past `maxBytes` the oldest frames go first. A reader who asks for frames that
/// are gone, or for a seq past the last frame, gets `.outOfRange` naming what is held.
///
/// `ResumableStream` owns one per resumable Generate call.
struct StreamFrameLog {
    struct Entry: Equatable {
        var seq: UInt64
        /// The frame's gRPC message (5-byte prefix and protobuf bytes) as sent.
        var message: ByteBuffer
    }

    /// What a reader who has seen every frame up to `after` may do next.
    enum Read: Equatable {
        /// The next frames, in order, starting at `after + 1`.
        case frames([Entry])
        /// Nothing new yet: the stream goes on; wait for the next append.
        case caughtUp
        /// Every frame has been read and the stream ended with this status.
        case ended(GRPCStatus)
        /// The frames wanted are not held: `oldest...newest` are (nil when none are).
        case outOfRange(oldest: UInt64?, newest: UInt64?)
    }

    /// The most bytes of messages kept.
    let maxBytes: Int
    private var entries = CircularBuffer<Entry>()
    /// Bytes of the messages held.
    private(set) var bytes = 0
    /// The seq of the last frame appended (0: none yet).
    private(set) var lastSeq: UInt64 = 0
    /// The stream's final status, once it has ended.
    private(set) var endStatus: GRPCStatus?

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// The oldest seq still held, if any.
    var oldestSeq: UInt64? { entries.first?.seq }

    /// Appends the next frame (its seq must follow the last one's), evicting the oldest
    /// frames while the log is over `maxBytes` (unless `evicting` is false: a detached
    /// stream keeps everything for its resumer and stops producing instead). A single frame
    /// larger than `maxBytes` is kept alone until the next one arrives.
    /// - Returns: the bytes evicted (for a server-wide account).
    mutating func append(seq: UInt64, message: ByteBuffer, evicting: Bool = true) -> Int {
        precondition(seq == lastSeq + 1, "frame \(seq) appended after \(lastSeq)")
        precondition(endStatus == nil, "frame appended to an ended stream")
        entries.append(Entry(seq: seq, message: message))
        bytes += message.readableBytes
        lastSeq = seq
        var evicted = 0
        while evicting, bytes > maxBytes, entries.count > 1 {
            evicted += evictOldest()
        }
        return evicted
    }

    /// Drops the oldest frame (server-wide memory pressure).
    /// - Returns: the bytes freed (0 when the log is empty).
    mutating func evictOldest() -> Int {
        guard let entry = entries.popFirst() else { return 0 }
        bytes -= entry.message.readableBytes
        return entry.message.readableBytes
    }

    /// Whether the log holds `maxBytes` or more.
    var isFull: Bool { bytes >= maxBytes }

    /// Records the stream's end; no frame follows.
    mutating func finish(_ status: GRPCStatus) {
        endStatus = status
    }

    /// What a reader who has seen frames up to `after` gets next, at most `limit` frames.
    func read(after: UInt64, limit: Int = .max) -> Read {
        guard after <= lastSeq else { return .outOfRange(oldest: oldestSeq, newest: entries.last?.seq) }
        if after == lastSeq {
            return endStatus.map { .ended($0) } ?? .caughtUp
        }
        guard let oldest = oldestSeq, after + 1 >= oldest else {
            return .outOfRange(oldest: oldestSeq, newest: entries.last?.seq)
        }
        let start = Int(after + 1 - oldest)
        let count = min(entries.count - start, max(limit, 1))
        return .frames((start..<start + count).map { entries[entries.index(entries.startIndex, offsetBy: $0)] })
    }
}
