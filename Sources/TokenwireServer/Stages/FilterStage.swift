import Synchronization
import TokenwireCore
import TokenwireProviders

/// The output filters of one call, between its provider and its sink (Generate's stream,
/// Complete's collector, a batch item): text and reasoning (and, for filters that ask,
/// tool-call arguments) go through a `HoldBackBuffer` each; every other event passes
/// through, after what is held before it is released, so the order is kept.
///
/// When a deny filter matches, the text before the match goes on, then every further
/// `send`/`offer` throws CANCELLED: the provider stops and its upstream request is
/// cancelled at once. `TokenStreamService.run` then ends the call with
/// `Finish { reason: "content_filter" }`.
///
/// - Important: Any thread, one producer at a time (the `TokenSink` contract); the state
///   is under a lock because `heartbeat` and `hasDeliveredContent` come from other tasks.
final class FilterStage: TokenSink {
    private let downstream: any TokenSink
    private let filters: [OutputFilters.Filter]
    private let state: Mutex<State>

    private struct State {
        var text: HoldBackBuffer
        var reasoning: HoldBackBuffer
        /// Tool-call arguments by call index, when a filter covers them.
        var toolArguments: [UInt32: HoldBackBuffer] = [:]
        /// The filter that denied, once one has.
        var deniedBy: String?
        /// Content events the provider produced (the usage a denied call reports).
        var contentEvents: UInt32 = 0
        var receivedContent = false
        /// The custom stages' processors, in order, with their names for messages.
        var processors: [(name: String, processor: any OutputStageProcessor)] = []
    }

    /// - Parameters:
    ///   - filters: the providers file's filters of the call.
    ///   - stages: custom stages of the call (`ServerConfiguration.outputStages`), run on
    ///     what the filters release.
    ///   - model: the model the call asked for, for the custom stages.
    init(downstream: any TokenSink, filters: [OutputFilters.Filter], stages: [any OutputStage] = [], model: String = "") {
        self.downstream = downstream
        self.filters = filters
        let buffer = Self.buffer(for: filters)
        var state = State(text: buffer, reasoning: buffer)
        state.processors = stages.map { (name: "\(type(of: $0))", processor: $0.makeProcessor(model: model)) }
        self.state = Mutex(state)
    }

    private static func buffer(for filters: [OutputFilters.Filter]) -> HoldBackBuffer {
        var rules: [HoldBackBuffer.Rule] = []
        for filter in filters {
            let replacement: String?
            switch filter.action {
            case .deny: replacement = nil
            case .redact(let with): replacement = with
            }
            rules += filter.regexes.map { HoldBackBuffer.Rule(filter: filter.name, regex: $0, replacement: replacement) }
        }
        return HoldBackBuffer(rules: rules, window: filters.map(\.windowCharacters).max() ?? 0)
    }

    /// The filter that ended the call, if one did.
    var deniedBy: String? { state.withLock { $0.deniedBy } }

    /// What a denied call's Finish reports: the content events the provider produced.
    var deniedFinish: Finish {
        Finish(reason: "content_filter", usage: Usage(outputTokens: state.withLock { $0.contentEvents }))
    }

    // MARK: TokenSink

    func send(_ event: TokenEvent) async throws {
        let (events, denial) = try process(event)
        for event in events { try await downstream.send(event) }
        if let denial { throw denial }
    }

    func offer(_ event: TokenEvent) throws -> Bool {
        let (events, denial) = try process(event)
        var ready = true
        for event in events { ready = try downstream.offer(event) && ready }
        if let denial { throw denial }
        return ready
    }

    func waitUntilReady() async throws { try await downstream.waitUntilReady() }

    func heartbeat() { downstream.heartbeat() }

    /// Held text counts: a provider must not retry once it has produced content, even if
    /// the client has not seen it yet.
    var hasDeliveredContent: Bool { state.withLock { $0.receivedContent } || downstream.hasDeliveredContent }

    func route(to provider: String, model: String) {
        downstream.route(to: provider, model: model)
    }

    /// The provider returned: what is still held goes out (unless it denies).
    func finish() async throws {
        let (events, denial) = state.withLock { state -> ([TokenEvent], TokenwireError?) in
            let wasDenied = state.deniedBy != nil
            let (flushed, denial) = Self.flush(&state, filters: filters)
            let (released, stop) = Self.custom(flushed, from: 0, &state)
            if wasDenied || denial != nil || stop != nil { return (released, denial ?? stop) }
            var events = released
            // The custom stages release what they hold, each through the stages after it.
            for index in state.processors.indices {
                let verdict = state.processors[index].processor.finish()
                switch verdict {
                case .pass(let out):
                    let (more, stop) = Self.custom(out, from: index + 1, &state)
                    events += more
                    if let stop { return (events, stop) }
                case .stop(let out):
                    events += out
                    state.deniedBy = state.processors[index].name
                    return (events, Self.denial(state.processors[index].name, custom: true))
                }
            }
            return (events, nil)
        }
        for event in events { try await downstream.send(event) }
        if let denial { throw denial }
    }

    // MARK: Filtering

    private func process(_ event: TokenEvent) throws -> (events: [TokenEvent], denial: TokenwireError?) {
        try state.withLock { state -> ([TokenEvent], TokenwireError?) in
            if let filter = state.deniedBy { throw Self.denial(filter) }
            let (filtered, denial) = filter(event, &state)
            let (events, stop) = Self.custom(filtered, from: 0, &state)
            return (events, denial ?? stop)
        }
    }

    /// Runs `events` through the custom stages from `first` on.
    private static func custom(_ events: [TokenEvent], from first: Int, _ state: inout State) -> ([TokenEvent], TokenwireError?) {
        guard first < state.processors.count else { return (events, nil) }
        var current = events
        for index in first..<state.processors.count {
            var next: [TokenEvent] = []
            for event in current {
                switch event {
                case .start, .heartbeat:
                    next.append(event)
                    continue
                default:
                    break
                }
                switch state.processors[index].processor.process(event) {
                case .pass(let out):
                    next += out
                case .stop(let out):
                    state.deniedBy = state.processors[index].name
                    return (next + out, denial(state.processors[index].name, custom: true))
                }
            }
            current = next
        }
        return (current, nil)
    }

    /// The built-in filters on one event.
    private func filter(_ event: TokenEvent, _ state: inout State) -> ([TokenEvent], TokenwireError?) {
            switch event {
            case .text(let text):
                state.receivedContent = true
                state.contentEvents += 1
                return Self.outcome(state.text.append(text), as: { .text($0) }, state: &state)
            case .reasoning(let text):
                state.receivedContent = true
                state.contentEvents += 1
                return Self.outcome(state.reasoning.append(text), as: { .reasoning($0) }, state: &state)
            case .toolCall(var delta):
                state.receivedContent = true
                state.contentEvents += 1
                // Text and reasoning held so far go first: the order is the provider's.
                var (events, denial) = Self.flushText(&state)
                if denial != nil { return (events, denial) }
                guard filters.contains(where: \.toolArguments) else { return (events + [event], nil) }
                var buffer = state.toolArguments[delta.index] ?? Self.buffer(for: filters.filter(\.toolArguments))
                let outcome = buffer.append(delta.arguments)
                state.toolArguments[delta.index] = buffer
                switch outcome {
                case .release(let released):
                    delta.arguments = released
                    events.append(.toolCall(delta))
                case .deny(let released, let filter):
                    state.deniedBy = filter
                    delta.arguments = released
                    events.append(.toolCall(delta))
                    denial = Self.denial(filter)
                }
                return (events, denial)
            case .finish, .error:
                var (events, denial) = Self.flush(&state, filters: filters)
                if denial == nil { events.append(event) }
                return (events, denial)
            case .start, .heartbeat, .jsonSnapshot:
                return ([event], nil)
            }
    }

    private static func outcome(
        _ outcome: HoldBackBuffer.Outcome, as make: (String) -> TokenEvent, state: inout State
    ) -> ([TokenEvent], TokenwireError?) {
        switch outcome {
        case .release(let text):
            return (text.isEmpty ? [] : [make(text)], nil)
        case .deny(let text, let filter):
            state.deniedBy = filter
            return (text.isEmpty ? [] : [make(text)], denial(filter))
        }
    }

    /// Releases held text and reasoning (a run of them ended).
    private static func flushText(_ state: inout State) -> ([TokenEvent], TokenwireError?) {
        var (events, denial) = outcome(state.text.finish(), as: { .text($0) }, state: &state)
        if denial != nil { return (events, denial) }
        let (reasoning, reasoningDenial) = outcome(state.reasoning.finish(), as: { .reasoning($0) }, state: &state)
        events += reasoning
        return (events, reasoningDenial)
    }

    /// Releases everything held: text, reasoning and tool-call arguments.
    private static func flush(_ state: inout State, filters: [OutputFilters.Filter]) -> ([TokenEvent], TokenwireError?) {
        guard state.deniedBy == nil else { return ([], nil) }
        var (events, denial) = flushText(&state)
        if denial != nil { return (events, denial) }
        for index in state.toolArguments.keys.sorted() {
            guard var buffer = state.toolArguments[index] else { continue }
            let outcome = buffer.finish()
            state.toolArguments[index] = buffer
            switch outcome {
            case .release(let released):
                if !released.isEmpty { events.append(.toolCall(ToolCallDelta(index: index, arguments: released))) }
            case .deny(let released, let filter):
                state.deniedBy = filter
                if !released.isEmpty { events.append(.toolCall(ToolCallDelta(index: index, arguments: released))) }
                return (events, Self.denial(filter))
            }
        }
        return (events, nil)
    }

    private static func denial(_ filter: String, custom: Bool = false) -> TokenwireError {
        .cancelled("the output \(custom ? "stage" : "filter") '\(filter)' stopped the call")
    }
}
