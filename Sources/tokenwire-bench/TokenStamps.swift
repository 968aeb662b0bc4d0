/// The send stamps in a text token from the relay harness's fake upstream (`upstream.py`):
/// each content delta is `"t<monotonic_ns> "`, and a relay that merges deltas may put
/// several in one frame.
enum TokenStamps {
    /// Calls `body` with each `t<digits>` stamp in `text`, in order; returns how many there were.
    /// Text without stamps (the synthetic provider's words) returns 0.
    @discardableResult
    static func forEach(in text: String, _ body: (Int64) -> Void) -> Int {
        var count = 0
        var value: Int64 = 0
        var digits = 0
        var inStamp = false
        var previous: UInt8 = 0x20
        for byte in text.utf8 {
            if inStamp, byte >= 0x30, byte <= 0x39 {
                value = value &* 10 &+ Int64(byte - 0x30)
                digits += 1
            } else {
                if inStamp, digits > 0, byte == 0x20 {
                    body(value)
                    count += 1
                }
                // A stamp starts with `t` at the start of the text or after a space.
                inStamp = byte == 0x74 && previous == 0x20
                value = 0
                digits = 0
            }
            previous = byte
        }
        // The trailing space may have been trimmed by a relay.
        if inStamp, digits > 0 {
            body(value)
            count += 1
        }
        return count
    }
}
