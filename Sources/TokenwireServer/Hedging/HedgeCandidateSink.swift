import Synchronization
import TokenwireCore
import TokenwireProviders

/// The sink one route of a hedged call writes into. Its first event other than a
/// heartbeat claims the call (`HedgeRace`): the winner names itself in StreamStart and
/// passes everything on to the call's sink; a loser's events are refused with CANCELLED,
/// which stops its provider. Heartbeats go to the client from every candidate.
///
/// - Important: Any thread (the `TokenSink` contract: one producer at a time); the route
///   and the claim are under a lock because `route(to:)` and `hasDeliveredContent` come
///   from the provider's retry and fallback logic on other tasks.
final class HedgeCandidateSink: TokenSink {
    private let index: Int
    private let race: HedgeRace
    private let downstream: any TokenSink
    private let state: Mutex<State>

    private struct State {
        /// The route this candidate serves now (its fallbacks may move it).
        var provider: String
        var model: String
        var claimed = false
        var produced = false
    }

    init(index: Int, race: HedgeRace, downstream: any TokenSink, provider: String, model: String) {
        self.index = index
        self.race = race
        self.downstream = downstream
        self.state = Mutex(State(provider: provider, model: model))
    }

    /// Whether this candidate serves the call (claims it on the first event).
    private func serves(_ event: TokenEvent) throws {
        guard event != .heartbeat else { return }
        let (first, route) = state.withLock { state -> (Bool, (String, String)) in
            state.produced = true
            defer { state.claimed = true }
            return (!state.claimed, (state.provider, state.model))
        }
        if first {
            guard race.claim(index) else { throw Self.lost }
            downstream.route(to: route.0, model: route.1)
        } else if race.winner != index {
            throw Self.lost
        }
    }

    private static let lost = TokenwireError.cancelled("another route of the hedged call produced content first")

    func send(_ event: TokenEvent) async throws {
        if event == .heartbeat { return downstream.heartbeat() }
        try serves(event)
        try await downstream.send(event)
    }

    func offer(_ event: TokenEvent) throws -> Bool {
        if event == .heartbeat {
            downstream.heartbeat()
            return true
        }
        try serves(event)
        return try downstream.offer(event)
    }

    func waitUntilReady() async throws { try await downstream.waitUntilReady() }

    func heartbeat() { downstream.heartbeat() }

    var hasDeliveredContent: Bool { state.withLock { $0.produced } }

    func route(to provider: String, model: String) {
        state.withLock { state in
            state.provider = provider
            state.model = model
        }
    }
}
