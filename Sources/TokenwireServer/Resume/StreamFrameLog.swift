import NIOCore
import TokenwireCore

/// One stream's frames as they were first sent, kept so that a reader who lost its
/// connection can resume after the last frame it saw (docs/ARCHITECTURE.md, "Resumable
/// streams").
///
/// A value: appending, finishing, evicting and reading are plain mutations and queries,
/// and the owner (`ResumableStream`) decides who may touch it. Each frame is kept as its
/// gRPC message exactly as written (length prefix included), so a replay copies bytes and
/// re-encodes nothing: a resumed reader sees the same bytes for the same seq.
///
/// The frames sit back to back in one `ByteBuffer` (oldest at the reader index), with
/// their lengths beside it: appending a frame allocates nothing once the buffer has grown,
/// and evicting the oldest moves the reader index. Seqs are consecutive, so the oldest
/// held is `lastSeq` minus the frames held, plus one.
///
/// Bounded: past `maxBytes` the oldest frames go first. A reader who asks for frames that
/// are gone, or for a seq past the last frame, gets `.outOfRange` naming what is held.
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
    /// The frames held, oldest first, back to back.
    private var buffer: ByteBuffer
    /// Each held frame's length, oldest first; nil until needed: for a log taken over from
    /// a writer's queue (most streams end and are never resumed: their lengths are never
    /// read), and for a new log until its first append (a stream whose frames stay in its
    /// reader's queue never appends: a ring allocated up front was one more allocation per
    /// call). `lengths` finds them either way.
    private var knownLengths: CircularBuffer<UInt32>?
    /// The seq of the last frame appended (0: none yet).
    private(set) var lastSeq: UInt64 = 0
    /// The stream's final status, once it has ended.
    private(set) var endStatus: GRPCStatus?

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
        self.buffer = ByteBufferAllocator().buffer(capacity: 0)
    }

    /// A log that holds `messages` (whole gRPC messages back to back, as a writer's queue
    /// kept them), the last of which is frame `lastSeq`.
    init(maxBytes: Int, messages: ByteBuffer, lastSeq: UInt64) {
        self.maxBytes = maxBytes
        self.buffer = messages
        self.lastSeq = lastSeq
        self.knownLengths = nil
        // The queue bounds only what it has sent; the log bounds everything.
        if bytes > maxBytes {
            indexFrames()
            while bytes > maxBytes, lengths.count > 1 { _ = evictOldest() }
        }
        assert(UInt64(lengths.count) <= lastSeq, "\(lengths.count) frames kept, but the last is seq \(lastSeq)")
    }

    /// Each held frame's length, oldest first.
    private var lengths: CircularBuffer<UInt32> { knownLengths ?? Self.frameLengths(in: buffer) }

    /// Finds the frames' lengths, once, before a change that needs them.
    private mutating func indexFrames() {
        if knownLengths == nil { knownLengths = Self.frameLengths(in: buffer) }
    }

    /// The lengths of the whole gRPC messages back to back in `buffer`'s readable bytes:
    /// each is a 5-byte prefix (flag, 4-byte big-endian length) and its bytes.
    private static func frameLengths(in buffer: ByteBuffer) -> CircularBuffer<UInt32> {
        var lengths = CircularBuffer<UInt32>()
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index + 5 <= view.endIndex {
            let length = 5 + (Int(view[index + 1]) << 24 | Int(view[index + 2]) << 16 | Int(view[index + 3]) << 8 | Int(view[index + 4]))
            guard index + length <= view.endIndex else { break }
            lengths.append(UInt32(length))
            index += length
        }
        return lengths
    }

    /// Bytes of the messages held.
    var bytes: Int { buffer.readableBytes }

    /// Whether the log holds `maxBytes` or more.
    var isFull: Bool { bytes >= maxBytes }

    /// The oldest seq still held, if any.
    var oldestSeq: UInt64? { lengths.isEmpty ? nil : lastSeq - UInt64(lengths.count) + 1 }

    /// Appends the next frame, which `encode` writes at the end of the given buffer,
    /// evicting the oldest frames while the log is over `maxBytes` (unless `evicting` is
    /// false: a detached stream keeps everything for its resumer and stops producing
    /// instead). A single frame larger than `maxBytes` is kept alone until the next one
    /// arrives.
    /// - Returns: the bytes appended and the bytes evicted (for a server-wide account).
    mutating func append(evicting: Bool = true, _ encode: (inout ByteBuffer) -> Void) -> (appended: Int, evicted: Int) {
        precondition(endStatus == nil, "frame appended to an ended stream")
        indexFrames()
        // Reclaim the evicted frames' space once they fill half the buffer (a memmove of
        // what is held, at most every `maxBytes` of appends).
        if buffer.readerIndex > 4096, buffer.readerIndex > buffer.capacity / 2 { buffer.discardReadBytes() }
        let start = buffer.writerIndex
        encode(&buffer)
        let length = buffer.writerIndex - start
        knownLengths!.append(UInt32(length))
        lastSeq += 1
        var evicted = 0
        while evicting, bytes > maxBytes, lengths.count > 1 {
            evicted += evictOldest()
        }
        return (length, evicted)
    }

    /// Appends frame `seq` (which must follow the last one) as the message given.
    /// - Returns: the bytes evicted.
    mutating func append(seq: UInt64, message: ByteBuffer, evicting: Bool = true) -> Int {
        precondition(seq == lastSeq + 1, "frame \(seq) appended after \(lastSeq)")
        return append(evicting: evicting) { $0.writeImmutableBuffer(message) }.evicted
    }

    /// Calls `body` with the bytes of the newest frame (valid only inside `body`).
    @discardableResult
    func withNewestFrame<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let length = Int(lengths.last ?? 0)
        return try buffer.withUnsafeReadableBytes { bytes in
            try body(UnsafeRawBufferPointer(start: bytes.baseAddress.map { $0 + (bytes.count - length) }, count: length))
        }
    }

    /// Drops the oldest frame (server-wide memory pressure).
    /// - Returns: the bytes freed (0 when the log is empty).
    mutating func evictOldest() -> Int {
        indexFrames()
        guard let length = knownLengths!.popFirst().map(Int.init) else { return 0 }
        buffer.moveReaderIndex(forwardBy: length)
        if knownLengths!.isEmpty { buffer.clear() }
        return length
    }

    /// Records the stream's end; no frame follows. (The registry copies an ended stream's
    /// frames into its own storage for the retention: `EndedStreams`.)
    mutating func finish(_ status: GRPCStatus) {
        endStatus = status
    }

    /// The frames held, oldest first, back to back.
    var messages: ByteBuffer { buffer }

    /// A copy of the newest `count` bytes of frames (nil when the log holds fewer).
    func copyOfNewest(bytes count: Int) -> ByteBuffer? {
        guard count <= bytes else { return nil }
        var copy = ByteBufferAllocator().buffer(capacity: count)
        copy.writeImmutableBuffer(buffer.getSlice(at: buffer.writerIndex - count, length: count)!)
        return copy
    }

    /// What a reader who has seen frames up to `after` gets next, at most `limit` frames.
    func read(after: UInt64, limit: Int = .max) -> Read {
        let lengths = self.lengths
        let newest = lengths.isEmpty ? nil : lastSeq
        let oldestHeld = lengths.isEmpty ? nil : lastSeq - UInt64(lengths.count) + 1
        guard after <= lastSeq else { return .outOfRange(oldest: oldestHeld, newest: newest) }
        if after == lastSeq {
            return endStatus.map { .ended($0) } ?? .caughtUp
        }
        guard let oldest = oldestHeld, after + 1 >= oldest else {
            return .outOfRange(oldest: oldestHeld, newest: newest)
        }
        let skip = Int(after + 1 - oldest)
        let count = min(lengths.count - skip, max(limit, 1))
        var offset = buffer.readerIndex
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for (index, length) in lengths.enumerated() {
            if index >= skip + count { break }
            if index >= skip {
                entries.append(Entry(seq: oldest + UInt64(index), message: buffer.getSlice(at: offset, length: Int(length))!))
            }
            offset += Int(length)
        }
        return .frames(entries)
    }
}
