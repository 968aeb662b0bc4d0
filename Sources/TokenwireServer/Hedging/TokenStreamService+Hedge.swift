import Logging
import TokenwireCore
import TokenwireProviders

/// A hedge: the routes started beside a call's primary route when it is slow to its first
/// token (the providers file's `hedges`).
struct Hedge: Sendable {
    var after: Duration
    var routes: [ProviderRegistry.Route]
}

extension TokenStreamService {
    /// What a candidate's task reports to the race's coordinator.
    private enum HedgeOutcome: Sendable {
        case timerFired
        case ended(Int, Result<Void, any Error>)
    }

    /// Runs the request on its primary routes (with their fallbacks); if no event but
    /// heartbeats has come `hedge.after` after the start, each hedge route starts beside
    /// it. The first route to produce an event serves the call (StreamStart names it) and
    /// the others are cancelled at once. A route that fails before any route has produced
    /// content does not end the call while another runs: a primary that fails before the
    /// hedge is due starts the hedge at once; the call fails only when every route has,
    /// with the primary's error. Nothing is ever replayed or mixed: the race is decided
    /// by the first event, before the client has any content.
    static func runHedged(
        _ request: GenerateRequest, primary: [ProviderRegistry.Route], hedge: Hedge, into sink: some TokenSink,
        metrics: ServerMetrics? = nil
    ) async throws {
        let race = HedgeRace()
        let candidates = [primary] + hedge.routes.map { [$0] }
        let logger = Logger(label: "tokenwire.server")
        func trace(_ metadata: Logger.Metadata) -> Logger.Metadata {
            var metadata = metadata
            if let trace = TraceContext.current { metadata["traceparent"] = "\(trace.traceparent)" }
            return metadata
        }
        try await withThrowingTaskGroup(of: HedgeOutcome.self) { group in
            func start(_ index: Int) {
                let routes = candidates[index]
                let candidate = HedgeCandidateSink(
                    index: index, race: race, downstream: sink, provider: routes[0].provider.name, model: routes[0].model)
                group.addTask {
                    // Its own task, so the race can cancel a loser while the others run.
                    let task = Task { try await runRoutes(request, routes: routes, into: candidate, metrics: metrics) }
                    race.started(index, task: task)
                    let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
                    return .ended(index, result)
                }
            }
            var hedged = false
            var running = 0
            var primaryFailure: (any Error)?
            func fire(reason: String) {
                guard !hedged else { return }
                hedged = true
                logger.info(
                    "hedging the first token",
                    metadata: trace([
                        "model": "\(request.model)", "reason": "\(reason)", "routes": "\(hedge.routes.map(\.model).joined(separator: ","))",
                    ]))
                metrics?.hedgeStarted(model: request.model)
                for index in 1..<candidates.count {
                    start(index)
                    running += 1
                }
            }
            start(0)
            running = 1
            group.addTask {
                try? await Task.sleep(for: hedge.after)
                return .timerFired
            }
            while let outcome = try await group.next() {
                switch outcome {
                case .timerFired:
                    if race.winner == nil, !Task.isCancelled { fire(reason: "no content after \(hedge.after)") }
                case .ended(let index, let result):
                    running -= 1
                    if let winner = race.winner {
                        guard winner == index else { continue }  // a loser stopped
                        group.cancelAll()
                        if hedged {
                            let model = candidates[index].first.map(\.model) ?? ""
                            logger.info("hedged call served", metadata: trace(["model": "\(request.model)", "winner": "\(model)"]))
                            metrics?.hedgeWon(model: request.model, winner: model)
                        }
                        return try result.get()
                    }
                    // Ended before any route produced content.
                    if case .failure(let error) = result, index == 0 { primaryFailure = error }
                    if case .success = result, race.claim(index) {
                        group.cancelAll()
                        return
                    }
                    if Task.isCancelled {
                        group.cancelAll()
                        throw CancellationError()
                    }
                    if candidates.count > 1 { fire(reason: "the primary route failed") }
                    if running == 0 {
                        group.cancelAll()
                        if let primaryFailure { throw primaryFailure }
                        try result.get()
                        return
                    }
                }
            }
            throw CancellationError()
        }
    }
}
