extension TokenEvent {
    /// The most UTF-8 bytes of text, reasoning or tool-call arguments one frame carries.
    /// A longer event becomes several frames, so no frame comes near a client's receive
    /// limit (gRPC's default is 4 MiB).
    public static let maxFrameTextBytes = 1024 * 1024

    /// This event as one or more events whose text fits `maxBytes`, cut between characters.
    ///
    /// Text and reasoning become consecutive pieces; tool-call arguments become fragments of
    /// the same call (the first keeps the id and name, the rest carry only the index), which
    /// clients join by index as they join any fragments. Other events come back unchanged.
    public func splitForFrames(maxBytes: Int = maxFrameTextBytes) -> [TokenEvent] {
        switch self {
        case .text(let text) where text.utf8.count > maxBytes:
            return Self.pieces(of: text, maxBytes: maxBytes).map { .text($0) }
        case .reasoning(let text) where text.utf8.count > maxBytes:
            return Self.pieces(of: text, maxBytes: maxBytes).map { .reasoning($0) }
        case .toolCall(let delta) where delta.arguments.utf8.count > maxBytes:
            return Self.pieces(of: delta.arguments, maxBytes: maxBytes).enumerated().map { position, piece in
                .toolCall(ToolCallDelta(
                    index: delta.index, id: position == 0 ? delta.id : "", name: position == 0 ? delta.name : "",
                    arguments: piece))
            }
        default:
            return [self]
        }
    }

    /// `text` cut into pieces of at most `maxBytes` UTF-8 bytes, never inside a scalar.
    static func pieces(of text: String, maxBytes: Int) -> [String] {
        precondition(maxBytes >= 4, "a piece must hold any one scalar")
        var pieces: [String] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        while start < utf8.endIndex {
            var end = utf8.index(start, offsetBy: maxBytes, limitedBy: utf8.endIndex) ?? utf8.endIndex
            // Back up to a scalar boundary: continuation bytes are 0b10xxxxxx.
            while end < utf8.endIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
            pieces.append(String(decoding: utf8[start..<end], as: UTF8.self))
            start = end
        }
        return pieces
    }
}
