import NIOCore
import TokenwireCore
import TokenwireRedis

/// A resume that reached a replica which does not hold the stream: it replays the frames
/// after its seq from the resume store (`ResumeMirror`'s Redis Stream), then follows new
/// ones as the owner mirrors them (`XREAD BLOCK`, on a connection of its own), until the
/// end entry: the client cannot tell which replica it reached.
///
/// While it follows it renews `tokenwire:reader:T` every second, which keeps the owner's
/// detached producer from being cancelled at the end of its grace. When the stream is quiet
/// and the owner's lease has lapsed, the producer is gone: the resume ends UNAVAILABLE,
/// naming the last seq there will ever be.
struct ResumeFollower {
    let address: RedisAddress
    let group: any EventLoopGroup
    /// How long one `XREAD` blocks before the owner's lease is checked.
    var blockMilliseconds = 1000

    typealias Keys = ResumeMirror.Keys

    /// Streams frames `after + 1…` of stream `token` to `writer`.
    /// - Returns: the stream's status; nil when the store has no such stream.
    /// - Throws: `TokenwireError` when the store cannot be reached, or the writer's client
    ///   went away.
    func follow(token: String, after: UInt64, writer: GRPCResponseWriter) async throws -> GRPCStatus? {
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(to: address, on: group)
        } catch {
            throw TokenwireError.unavailable(
                "the stream is not held on this replica, and the resume store \(address) cannot be reached: \(error)")
        }
        defer { connection.close() }
        do {
            guard let owner = try await connection.send(RESPCommand("GET", Keys.owner(token))).string else { return nil }
            return try await follow(token: token, owner: owner, after: after, writer: writer, on: connection)
        } catch let error as RedisError {
            throw TokenwireError.unavailable("the resume store \(address) failed while replaying the stream: \(error)")
        }
    }

    private func follow(
        token: String, owner: String, after: UInt64, writer: GRPCResponseWriter, on connection: RedisConnection
    ) async throws -> GRPCStatus {
        let key = Keys.stream(token)
        // Entries hold runs of frames: start at the last entry that begins at or before
        // frame after + 1, and skip the frames the reader has.
        let first = try await connection.send(RESPCommand("XREVRANGE", key, "\(after + 1)-0", "-", "COUNT", "1"))
        let startID = first.elements?.first?.elements?.first?.string ?? "-"
        var cursor: String?
        var lastSeq = after
        var lastRenewal: ContinuousClock.Instant?
        while true {
            try Task.checkCancellation()
            if lastRenewal.map({ ContinuousClock.now - $0 >= .seconds(1) }) ?? true {
                _ = try await connection.send(RESPCommand("SET", Keys.reader(token), "1", "PX", "3000"))
                lastRenewal = .now
            }
            let from = cursor.map { "(\($0)" } ?? startID
            var entries = try await connection.send(RESPCommand("XRANGE", key, from, "+", "COUNT", "256")).elements ?? []
            if entries.isEmpty {
                // Nothing after the cursor: the stream may have ended before the seq asked for.
                let last = try await connection.send(RESPCommand("XREVRANGE", key, "+", "-", "COUNT", "1"))
                if let id = last.elements?.first?.elements?.first?.string, case let (seq, true) = Self.parse(id), seq < after {
                    return GRPCStatus(code: .outOfRange, message: "resume_after_seq \(after) is past the last frame of the stream, seq \(seq)")
                }
                let read = try await connection.send(
                    RESPCommand("XREAD", "COUNT", "256", "BLOCK", "\(blockMilliseconds)", "STREAMS", key, cursor ?? "0-0"),
                    timeout: .milliseconds(blockMilliseconds) + .seconds(5))
                entries = read.elements?.first?.elements?.last?.elements ?? []
            }
            if entries.isEmpty {
                let alive = try await connection.send(RESPCommand("EXISTS", Keys.replica(owner)))
                if alive != .integer(1) {
                    return GRPCStatus(
                        code: .unavailable,
                        message: "the replica that produced the stream stopped; the last frame there will ever be is seq \(lastSeq)")
                }
                continue
            }
            for entry in entries {
                guard let parts = entry.elements, parts.count == 2, let id = parts[0].string, let fields = parts[1].elements else {
                    throw TokenwireError.internal("the resume store holds an entry of an unexpected shape in \(key)")
                }
                cursor = id
                let (firstSeq, isEnd) = Self.parse(id)
                if isEnd {
                    if firstSeq < after {
                        return GRPCStatus(code: .outOfRange, message: "resume_after_seq \(after) is past the last frame of the stream, seq \(firstSeq)")
                    }
                    return Self.status(fields)
                }
                guard fields.count >= 2, case .bulkString(var frames?) = fields[1] else {
                    throw TokenwireError.internal("entry \(id) of \(key) has no frames")
                }
                var seq = firstSeq
                while frames.readableBytes >= 5 {
                    guard let length = frames.getInteger(at: frames.readerIndex + 1, as: UInt32.self),
                        let message = frames.readSlice(length: 5 + Int(length))
                    else {
                        throw TokenwireError.internal("entry \(id) of \(key) ends inside a frame")
                    }
                    defer { seq += 1 }
                    guard seq > after else { continue }
                    guard seq == lastSeq + 1 else {
                        return GRPCStatus(
                            code: .outOfRange,
                            message: "the frames after seq \(lastSeq) are no longer held (the resume store has seq \(seq) next)")
                    }
                    let enqueued = try message.withUnsafeReadableBytes { try writer.enqueue(bytes: $0) }
                    lastSeq = seq
                    let turn = writer.turn(after: enqueued)
                    if case .goOn = turn { continue }
                    try await writer.take(turn)
                }
            }
        }
    }

    /// `seq-0` is frame `seq`; `seq-1` is the end after frame `seq`.
    static func parse(_ id: String) -> (seq: UInt64, isEnd: Bool) {
        let parts = id.split(separator: "-")
        return (UInt64(parts.first ?? "") ?? 0, parts.count > 1 && parts[1] == "1")
    }

    /// The status of an end entry (fields `code`, `message`).
    static func status(_ fields: [RESPValue]) -> GRPCStatus {
        var code = GRPCStatus.Code.unknown
        var message = ""
        var index = 0
        while index + 1 < fields.count {
            switch fields[index].string {
            case "code": code = fields[index + 1].string.flatMap { Int($0) }.map { GRPCStatus.Code(rawValue: $0) } ?? .unknown
            case "message": message = fields[index + 1].string ?? ""
            default: break
            }
            index += 2
        }
        return GRPCStatus(code: code, message: message)
    }
}
