/// What one soak call does, and the ending its fault implies.
///
/// The fake provider streams `tokens` text tokens as openai-chat (its event 1 is the role
/// chunk, so event k + 1 carries token k).
enum SoakCall: Sendable, Hashable {
    /// Streams every token: OK, all `tokens` tokens, a Finish.
    case normal(tokens: Int)
    /// The client cancels after `after` tokens: CANCELLED on the client, and the provider
    /// sees its request go away. (On a busy machine the client may read behind the
    /// stream: if the call, or the provider's response, was over before the cancel, that
    /// is counted apart, not as a failure.)
    case cancel(tokens: Int, after: Int)
    /// The provider resets its TCP connection after `events` events: UNAVAILABLE after
    /// `events - 1` tokens.
    case upstreamReset(tokens: Int, events: Int)
    /// The provider closes its TCP connection (FIN, no terminating chunk) after `events`
    /// events: UNAVAILABLE after `events - 1` tokens.
    case upstreamDrop(tokens: Int, events: Int)
    /// The provider answers HTTP 503: UNAVAILABLE, no token.
    case upstreamUnavailable

    /// The kinds, for counting.
    enum Kind: String, CaseIterable, Sendable {
        case normal, cancel, upstreamReset = "upstream-reset", upstreamDrop = "upstream-drop"
        case upstreamUnavailable = "upstream-503", connectionReset = "connection-reset"
    }

    var kind: Kind {
        switch self {
        case .normal: .normal
        case .cancel: .cancel
        case .upstreamReset: .upstreamReset
        case .upstreamDrop: .upstreamDrop
        case .upstreamUnavailable: .upstreamUnavailable
        }
    }

    /// Tokens the provider is asked for.
    var tokens: Int {
        switch self {
        case .normal(let tokens), .cancel(let tokens, _), .upstreamReset(let tokens, _), .upstreamDrop(let tokens, _): tokens
        case .upstreamUnavailable: 1
        }
    }

    /// The `x-fake-fault` header, if any.
    var fault: String? {
        switch self {
        case .normal, .cancel: nil
        case .upstreamReset(_, let events): "reset-after:\(events)"
        case .upstreamDrop(_, let events): "drop-after:\(events)"
        case .upstreamUnavailable: "status:503"
        }
    }
}

/// Picks each call's kind and length from a seeded generator, so a run can be repeated.
struct SoakMix: Sendable {
    /// Percent of calls of each faulty kind; the rest are normal.
    var cancelPercent = 8
    var upstreamResetPercent = 4
    var upstreamDropPercent = 3
    var upstreamUnavailablePercent = 3
    var minTokens = 10
    var maxTokens = 60

    func next(_ random: inout SplitMix64) -> SoakCall {
        let tokens = Int(random.next(below: UInt64(maxTokens - minTokens + 1))) + minTokens
        var roll = Int(random.next(below: 100))
        // A fault after event 2 or later: past the role chunk, so at least one token is out
        // and the relay must not retry.
        let events = Int(random.next(below: UInt64(tokens - 1))) + 2
        // Cancels in the first half, so the rest of the stream is still to come upstream.
        if roll < cancelPercent { return .cancel(tokens: tokens, after: max(1, (events - 1) / 2)) }
        roll -= cancelPercent
        if roll < upstreamResetPercent { return .upstreamReset(tokens: tokens, events: events) }
        roll -= upstreamResetPercent
        if roll < upstreamDropPercent { return .upstreamDrop(tokens: tokens, events: events) }
        roll -= upstreamDropPercent
        if roll < upstreamUnavailablePercent { return .upstreamUnavailable }
        return .normal(tokens: tokens)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64).
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound (bound > 0).
    mutating func next(below bound: UInt64) -> UInt64 {
        next() % bound
    }
}
