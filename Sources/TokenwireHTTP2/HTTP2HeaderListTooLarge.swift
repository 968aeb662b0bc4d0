/// A HEADERS block whose decoded size passed the SETTINGS_MAX_HEADER_LIST_SIZE we advertise.
///
/// Its fields were dropped as they were decoded, so the block cost no more memory than the
/// limit; the stream is refused with a status that says so.
public struct HTTP2HeaderListTooLarge: Sendable, Hashable {
    /// Decoded size of the whole block: name + value + 32 octets per field (RFC 9113 §6.5.2).
    public var decodedSize: Int
    /// The limit we advertise.
    public var limit: Int

    /// What to tell the peer.
    public var message: String {
        "the request's headers decode to \(decodedSize) bytes (name + value + 32 per field); "
            + "this server accepts at most \(limit) (SETTINGS_MAX_HEADER_LIST_SIZE): send fewer or smaller headers"
    }
}
