import TokenwireProviders
import Synchronization
import TokenwireCore
import TokenwireServer

/// A provider for tests whose models misbehave on purpose, served next to `synthetic`:
/// - `scripted/fail-after-2`: two text tokens, then it throws UNAVAILABLE.
/// - `scripted/no-finish`: one text token, then it returns without Finish.
/// - `scripted/tools`: a tool call sent in three fragments, then Finish("tool_calls").
/// - `scripted/bulk`: `max_tokens` text frames of 4 KiB each (`bulkText(k)`), then Finish:
///   a long response in few frames, for memory tests.
/// - `scripted/barrier`: the first `probe.barrier` items wait until that many are running
///   at once, so a batch that runs fewer never ends; every item records how many ran at
///   once. Then one text token and Finish.
struct ScriptedProvider: TokenProvider {
    let name = "scripted"
    let models = ["scripted/fail-after-2", "scripted/no-finish", "scripted/tools", "scripted/barrier", "scripted/bulk"]
    let probe: ConcurrencyProbe

    init(probe: ConcurrencyProbe = ConcurrencyProbe(barrier: 1)) {
        self.probe = probe
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
            for k in 0..<Int(request.maxTokens) { try await sink.send(.text(Self.bulkText(k))) }
            try await sink.send(.finish(Finish(reason: "length", usage: Usage(outputTokens: request.maxTokens))))
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
