/// What a provider reports about its upstream while it serves a call, for the server's
/// metrics: each attempt's outcome and each stall. The server installs an observer for
/// the call's task (`ProviderEvents.$observer`); a provider calls it if one is there.
public protocol ProviderEventObserver: Sendable {
    /// One try of an upstream request ended: `outcome` is `ok`, `retried` (another try
    /// follows) or `failed`, `code` the gRPC status name it meant (`OK` for ok).
    func upstreamAttempt(provider: String, outcome: String, code: String)
    /// The upstream went silent past its stall timeout.
    func upstreamStalled(provider: String)
    /// A heartbeat frame went to the client while the upstream was silent.
    func heartbeatSent(provider: String)
}

public enum ProviderEvents {
    /// The observer of the call being served, if the server keeps metrics.
    @TaskLocal public static var observer: (any ProviderEventObserver)?
}
