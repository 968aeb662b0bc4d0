import TokenwireProviders
import Synchronization
import TokenwireCore
import TokenwireServer

/// A provider for tests whose models misbehave on purpose, served next to `synthetic`:
/// - `scripted/fail-after-2`: two text tokens, then it throws UNAVAILABLE.
/// - `scripted/no-finish`: one text token, then it returns without Finish.
/// - `scripted/tools`: a tool call sent in three fragments, then Finish("tool_calls").
/// - `scripted/bulk`: `max_tokens` text frames of 4 KiB each (`bulkText(k)`), then Finish:
///   a long response in few frames, for memory tests. `tally` counts the frames each call
///   has handed to the server so far.
/// - `scripted/hold`: one text token, then it waits in `hold` until its task is cancelled
///   (the client went away, or the deadline passed), so a test decides when a call ends.
/// - `scripted/barrier`: the first `probe.barrier` items wait until that many are running
///   at once, so a batch that runs fewer never ends; every item records how many ran at
///   once. Then one text token and Finish.
struct ScriptedProvider: TokenProvider {
    let name = "scripted"
    let models = ["scripted/fail-after-2", "scripted/no-finish", "scripted/tools", "scripted/barrier", "scripted/bulk", "scripted/hold"]
    let probe: ConcurrencyProbe
    let hold: HoldGate
    let tally: ProductionTally

    init(
        probe: ConcurrencyProbe = ConcurrencyProbe(barrier: 1), hold: HoldGate = HoldGate(), tally: ProductionTally = ProductionTally()
    ) {
        self.probe = probe
        self.hold = hold
        self.tally = tally
    }

    func generate(_ request: GenerateRequest, into sink: some TokenSink) async throws {
        switch request.model {
        case "scripted/fail-after-2":
            try await sink.send(.text("one "))
            try await sink.send(.text("two "))
            throw TokenwireError.unavailable("scripted upstream failure after 2 tokens")
        case "scripted/no-finish":
            try await sink.send(.text("alone "))
        case "scripted/tools":
            try await sink.send(.toolCall(ToolCallDelta(index: 0, id: "call_1", name: "lookup", arguments: "{\"q\":")))
            try await sink.send(.toolCall(ToolCallDelta(index: 0, arguments: "\"tokens\"")))
            try await sink.send(.toolCall(ToolCallDelta(index: 0, arguments: "}")))
            try await sink.send(.finish(Finish(reason: "tool_calls", usage: Usage(inputTokens: 3, outputTokens: 3))))
        case "scripted/bulk":
            let call = tally.callStarted()
            for k in 0..<Int(request.maxTokens) {
                try await sink.send(.text(Self.bulkText(k)))
                tally.produced(by: call)
            }
            try await sink.send(.finish(Finish(reason: "length", usage: Usage(outputTokens: request.maxTokens))))
        case "scripted/hold":
            try await sink.send(.text("held "))
            try await hold.hold()
        default:
            await probe.enter()
            try await sink.send(.text("met "))
            probe.leave()
            try await sink.send(.finish(Finish(reason: "stop", usage: Usage(outputTokens: 1))))
        }
    }
}

extension ScriptedProvider {
    /// Frame `k` of `scripted/bulk`: its number, then one letter repeated, 4,096 bytes.
    static func bulkText(_ k: Int) -> String {
        let head = "frame \(k) "
        let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(k % 26)))
        return head + String(repeating: letter, count: 4096 - head.utf8.count)
    }
}

/// Counts the items running at once; the first `barrier` wait for each other.
final class ConcurrencyProbe: Sendable {
    private struct State {
        var running = 0
        var most = 0
        var opened = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    let barrier: Int
    private let state = Mutex(State())

    init(barrier: Int) {
        self.barrier = barrier
    }

    /// The most items seen running at once.
    var most: Int { state.withLock { $0.most } }

    func enter() async {
        await withCheckedContinuation { continuation in
            let release = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.running += 1
                state.most = max(state.most, state.running)
                if state.opened { return [continuation] }
                state.waiting.append(continuation)
                guard state.running >= barrier else { return [] }
                state.opened = true
                defer { state.waiting.removeAll() }
                return state.waiting
            }
            for waiter in release { waiter.resume() }
        }
    }

    func leave() {
        state.withLock { $0.running -= 1 }
    }
}

/// Where `scripted/hold` items wait: each counts as held once its token is sent, and stays
/// until its task is cancelled.
final class HoldGate: Sendable {
    private struct State {
        var nextID = 0
        var held: [Int: CheckedContinuation<Void, any Error>] = [:]
        var everHeld = 0
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    /// Items holding now.
    var holding: Int { state.withLock { $0.held.count } }

    /// Counts this item as held and suspends until the task is cancelled.
    /// - Throws: `CancellationError`, always: cancellation is the only way out.
    func hold() async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                    if Task.isCancelled { return nil }
                    state.held[id] = continuation
                    state.everHeld += 1
                    let everHeld = state.everHeld
                    defer { state.watchers.removeAll { $0.count <= everHeld } }
                    return state.watchers.filter { $0.count <= everHeld }.map(\.continuation)
                }
                guard let ready else { return continuation.resume(throwing: CancellationError()) }
                for watcher in ready { watcher.resume() }
            }
        } onCancel: {
            let held = state.withLock { $0.held.removeValue(forKey: id) }
            held?.resume(throwing: CancellationError())
        }
    }

    /// Returns once `count` items have been held (since the gate was made).
    func waitUntilHeld(_ count: Int) async {
        await withCheckedContinuation { continuation in
            let reached = state.withLock { state -> Bool in
                if state.everHeld >= count { return true }
                state.watchers.append((count, continuation))
                return false
            }
            if reached { continuation.resume() }
        }
    }
}

/// How many frames each `scripted/bulk` call has handed to the server: a frame counts once
/// the sink has taken it, so a call's count minus what its client has read is what the
/// server (and the connection between them) holds for it.
final class ProductionTally: Sendable {
    private let counts = Mutex<[Int]>([])

    /// Registers a call; returns its number.
    func callStarted() -> Int {
        counts.withLock { counts in
            counts.append(0)
            return counts.count - 1
        }
    }

    func produced(by call: Int) {
        counts.withLock { $0[call] += 1 }
    }

    /// Frames produced by every call so far.
    var total: Int { counts.withLock { $0.reduce(0, +) } }

    /// The most frames any one call has produced so far.
    var mostByOneCall: Int { counts.withLock { $0.max() ?? 0 } }

    /// Calls seen so far.
    var calls: Int { counts.withLock { $0.count } }
}
