import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Random 64-bit words from the system's secure generator, drawn 4 KiB at a time: every
/// call needs some (its stream id; a resumable stream's token), and a `getrandom` system
/// call each was a measurable share of a short call. The words are as unguessable as the
/// generator's; they wait in this process's memory, where the ids and tokens made of them
/// live too. Under a lock: calls on every loop draw from the one pool (held for a copy of
/// one or two words, or one refill per 512 words).
enum SecureRandomWords {
    /// One word.
    static func next() -> UInt64 {
        pool.withLock { $0.next() }
    }

    /// Two words, under one lock.
    static func next2() -> (UInt64, UInt64) {
        pool.withLock { pool in (pool.next(), pool.next()) }
    }

    private static let pool = Mutex(Pool())

    private struct Pool: ~Copyable {
        private var words = [UInt64](repeating: 0, count: 512)
        private var used = 512

        mutating func next() -> UInt64 {
            if used == words.count {
                #if canImport(Glibc)
                // glibc's arc4random_buf is getrandom(2), retried until filled.
                words.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
                #else
                var generator = SystemRandomNumberGenerator()
                for index in words.indices { words[index] = generator.next() }
                #endif
                used = 0
            }
            defer { used += 1 }
            return words[used]
        }
    }
}
