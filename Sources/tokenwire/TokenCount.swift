import ArgumentParser

/// Parses `--max-tokens`: a whole number from 0 to 4294967295, with a message that says
/// so (a bare `UInt32` option reads `-5` as another option and says "Missing value").
enum TokenCount {
    static func parse(_ text: String) throws -> UInt32 {
        guard let value = Int(text), value >= 0 else {
            throw ValidationError("--max-tokens must be a whole number, 0 (the provider's default) or more, not '\(text)'")
        }
        guard let count = UInt32(exactly: value) else {
            throw ValidationError("--max-tokens must be at most \(UInt32.max), not \(text)")
        }
        return count
    }
}
