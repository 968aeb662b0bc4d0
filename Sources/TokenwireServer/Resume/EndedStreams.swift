import NIOCore
import TokenwireCore

/// The frames of ended streams, kept for their retention (docs/ARCHITECTURE.md, "Resumable
/// streams"): what `ResumeRegistry` holds once a stream has ended.
///
/// A busy server ends thousands of streams a second and keeps each for minutes, dropping
/// the oldest as new ones end. Kept as one object and one buffer each, those streams were
/// thousands of long-lived allocations interleaved with every call's short-lived ones: the
/// allocator's free lists fragmented (its malloc cost per call tripled at c50) and each
/// dropped stream was a chain of cold objects to release. Here an ended stream is a plain
/// record and its frames are copied, back to back, into large shared slabs. Streams end
/// and go in the same order (the oldest first), so the slabs are a ring: a slab is freed
/// whole once its last stream has gone.
///
/// A value: the registry owns it under its lock.
struct EndedStreams {
    /// One ended stream.
    struct Record {
        var key: ResumeToken
        var endedAt: NIODeadline
        /// Where its frames start, counted over every byte ever written to a slab.
        var position: Int
        var length: Int
        /// Its last frame's seq.
        var lastSeq: UInt64
        var status: GRPCStatus
        /// Bytes it counts against the server's total (`ResumeMemory`).
        var charge: Int
    }

    /// What a resume of an ended stream reads.
    struct Ended {
        /// The frames held, back to back (as `StreamFrameLog` keeps them).
        var messages: ByteBuffer
        var lastSeq: UInt64
        var status: GRPCStatus
    }

    private struct Slab {
        /// The position of the slab's first byte.
        var start: Int
        var buffer: ByteBuffer
        var end: Int { start + buffer.writerIndex }
    }

    /// About what a record costs besides its frames: the record, its index entry.
    static let recordOverhead = 128

    /// Bytes of a new shared slab. A stream longer than a quarter of it gets storage of its
    /// own, so a slab's unused tail is at most a quarter of it.
    let slabCapacity: Int
    /// An array, not a ring: its subscript writes in place (a `CircularBuffer`'s copied the
    /// slab on every write); a few hundred slabs at most, the first removed once per slab.
    private var slabs: [Slab] = []
    /// The records, the earliest ended first; record `firstNumber + i` is at index `i`.
    private var records = CircularBuffer<Record>()
    private var firstNumber = 0
    /// Each held record's number, by key.
    private var index: [ResumeToken: Int] = [:]
    /// The position after the last byte written.
    private var end = 0

    /// - Parameter maxTotalBytes: the server's bound (`--resume-memory`); slabs are a
    ///   sixteenth of it, between 64 KiB and 1 MiB.
    init(maxTotalBytes: Int) {
        slabCapacity = min(1024 * 1024, max(64 * 1024, maxTotalBytes / 16))
    }

    /// How many ended streams are held.
    var count: Int { records.count }

    /// How many slabs hold them.
    var slabCount: Int { slabs.count }

    /// Whether `key` names a held stream.
    func contains(_ key: ResumeToken) -> Bool { index[key] != nil }

    /// Keeps an ended stream: `messages` (its frames, back to back) are copied.
    /// - Returns: the bytes it counts against the server's total.
    mutating func add(key: ResumeToken, messages: ByteBuffer, lastSeq: UInt64, status: GRPCStatus, at now: NIODeadline) -> Int {
        let length = messages.readableBytes
        let charge = length + Self.recordOverhead
        if let old = index[key] {
            // 128 random bits do not repeat; should a key come back, the newer stream wins.
            records[offset: old - firstNumber].length = 0
        }
        let position: Int
        if length > 0 {
            if slabs.last == nil || slabs.last!.buffer.writableBytes < length || length > slabCapacity / 4 {
                let capacity = length > slabCapacity / 4 ? length : slabCapacity
                slabs.append(Slab(start: end, buffer: ByteBufferAllocator().buffer(capacity: capacity)))
            }
            position = end
            slabs[slabs.count - 1].buffer.writeImmutableBuffer(messages)
            end += length
        } else {
            position = end
        }
        index[key] = firstNumber + records.count
        records.append(Record(key: key, endedAt: now, position: position, length: length, lastSeq: lastSeq, status: status, charge: charge))
        return charge
    }

    /// The stream `key` names, if it is held.
    func find(_ key: ResumeToken) -> Ended? {
        guard let number = index[key] else { return nil }
        let record = records[offset: number - firstNumber]
        guard record.length > 0 else {
            return Ended(messages: ByteBuffer(), lastSeq: record.lastSeq, status: record.status)
        }
        // The slab holding it: the last that starts at or before it.
        var low = 0
        var high = slabs.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if slabs[middle].start <= record.position { low = middle } else { high = middle - 1 }
        }
        let slab = slabs[low]
        // A copy, not a slice: a slice would share the slab's storage, and the next stream
        // written to it would copy the whole slab.
        var messages = ByteBufferAllocator().buffer(capacity: record.length)
        messages.writeImmutableBuffer(slab.buffer.getSlice(at: record.position - slab.start, length: record.length)!)
        return Ended(messages: messages, lastSeq: record.lastSeq, status: record.status)
    }

    /// When the oldest held stream ended.
    var oldestEnd: NIODeadline? { records.first?.endedAt }

    /// Drops the oldest held stream, and any slab none of the rest reaches.
    /// - Returns: the bytes it counted (nil when none is held).
    mutating func dropOldest() -> Int? {
        guard let record = records.popFirst() else { return nil }
        firstNumber += 1
        if index[record.key] == firstNumber - 1 { index.removeValue(forKey: record.key) }
        let reached = records.first?.position ?? end
        while let slab = slabs.first, slab.end <= reached, slabs.count > 1 || records.isEmpty {
            slabs.removeFirst()
        }
        return record.charge
    }

    /// Drops every held stream.
    mutating func removeAll() {
        records.removeAll()
        index.removeAll()
        slabs.removeAll()
        firstNumber = 0
    }
}
