import Synchronization
import TokenwireCore
import TokenwireProviders

/// Structured output for one call (`GenerateRequest.response_format` asking for JSON):
/// between the filters and the call's sink, it checks the answer's text as a JSON document
/// as it streams (`JSONDocumentCheck`) and delivers it as the request asks
/// (docs/PROVIDERS.md, "Structured output"):
///
/// - `.stream`: text goes on as it comes; the Finish says whether it was valid.
/// - `.buffered`: text is held (up to the server's `--max-json-bytes`) and goes out as one
///   text event just before the Finish, whatever the verdict; the Finish says it. Once the
///   text cannot become valid JSON, what is held goes out at once and the rest as it comes.
/// - `.snapshots`: text goes on as it comes, each followed by a `jsonSnapshot` event when
///   the document so far, closed into valid JSON, has changed (past 16 KiB of text, when
///   it has grown by a sixteenth since the last: the snapshots of a long document cost a
///   bounded multiple of its size, not its square).
///
/// Events other than text (heartbeats, reasoning, tool calls) go on at once.
///
/// - Important: Any thread, one producer at a time (the `TokenSink` contract); the state
///   is under a lock because `hasDeliveredContent` comes from other tasks.
final class JSONOutputStage: TokenSink {
    private let downstream: any TokenSink
    private let delivery: ResponseFormat.Delivery
    private let state: Mutex<State>

    /// Up to this much text, every change of the document makes a snapshot.
    static let everyChangeBytes = 16 * 1024

    private struct State {
        var check: JSONDocumentCheck
        /// Whether held text must still wait for the end (buffered, and valid so far).
        var holding: Bool
        /// The text held (buffered delivery), bounded by the check's `maxBytes`.
        var held = ""
        /// Bytes of text the last snapshot covered, and the snapshot.
        var snapshotAt = 0
        var lastSnapshot: String?
        var receivedText = false
        /// Set once the Finish went out (or the stage gave up what it held).
        var ended = false
    }

    init(downstream: any TokenSink, format: ResponseFormat, maxBytes: Int) {
        self.downstream = downstream
        self.delivery = format.delivery
        // Buffered and snapshot delivery hold the text (here, or in the check for its
        // snapshots): both are bounded. Stream delivery holds nothing.
        let bounded = format.delivery == .buffered || format.delivery == .snapshots
        let check = JSONDocumentCheck(
            root: format.kind == .jsonObject ? .object : .anyValue, keepsText: format.delivery == .snapshots,
            maxBytes: bounded ? maxBytes : .max)
        self.state = Mutex(State(check: check, holding: format.delivery == .buffered))
    }

    // MARK: TokenSink

    func send(_ event: TokenEvent) async throws {
        for event in process(event) { try await downstream.send(event) }
    }

    func offer(_ event: TokenEvent) throws -> Bool {
        var ready = true
        for event in process(event) { ready = try downstream.offer(event) && ready }
        return ready
    }

    func waitUntilReady() async throws { try await downstream.waitUntilReady() }

    func heartbeat() { downstream.heartbeat() }

    /// Held text counts: a provider must not retry once it has produced content.
    var hasDeliveredContent: Bool { state.withLock { $0.receivedText } || downstream.hasDeliveredContent }

    func route(to provider: String, model: String) {
        downstream.route(to: provider, model: model)
    }

    /// The call ended without a Finish (an error, a cancel): held text goes out, so that
    /// nothing produced is lost; the call's status says how it ended.
    func abandon() async throws {
        let held = state.withLock { state -> String? in
            guard !state.ended else { return nil }
            state.ended = true
            return Self.releaseHeld(&state)
        }
        if let held { try await downstream.send(.text(held)) }
    }

    // MARK: The events

    private func process(_ event: TokenEvent) -> [TokenEvent] {
        state.withLock { state in
            switch event {
            case .text(let text):
                state.receivedText = true
                state.check.append(text)
                if state.holding {
                    state.held += text
                    // Invalid now: it never will be valid; what is held and the rest go on.
                    guard state.check.failure != nil else { return [] }
                    return Self.releaseHeld(&state).map { [.text($0)] } ?? []
                }
                var events: [TokenEvent] = [event]
                if delivery == .snapshots, let snapshot = Self.snapshotIfDue(&state, final: false) {
                    events.append(.jsonSnapshot(snapshot))
                }
                return events
            case .finish(var finish):
                guard !state.ended else { return [event] }
                state.ended = true
                finish.json = state.check.verdict()
                var events: [TokenEvent] = []
                if state.holding {
                    if let held = Self.releaseHeld(&state) { events.append(.text(held)) }
                } else if delivery == .snapshots, let snapshot = Self.snapshotIfDue(&state, final: true) {
                    events.append(.jsonSnapshot(snapshot))
                }
                events.append(.finish(finish))
                return events
            case .start, .reasoning, .toolCall, .heartbeat, .error, .jsonSnapshot:
                return [event]
            }
        }
    }

    /// The held text, once; holding stops.
    private static func releaseHeld(_ state: inout State) -> String? {
        guard state.holding else { return nil }
        state.holding = false
        defer { state.held = "" }
        return state.held.isEmpty ? nil : state.held
    }

    /// A snapshot when the document changed, and (past `everyChangeBytes`) grew by a
    /// sixteenth since the last one; at the end, whenever it changed.
    private static func snapshotIfDue(_ state: inout State, final: Bool) -> String? {
        let bytes = state.check.count
        if !final, bytes > everyChangeBytes, bytes - state.snapshotAt < bytes / 16 { return nil }
        guard let snapshot = state.check.snapshot(), snapshot != state.lastSnapshot else { return nil }
        state.snapshotAt = bytes
        state.lastSnapshot = snapshot
        return snapshot
    }
}
