import TokenwireProviders
import Synchronization
import TokenwireCore

/// Gathers a provider's events into one `Completion` (for `Complete`).
///
/// Tool-call fragments are joined by `ToolCallAssembler`'s rule; a call that never gets an
/// id is given a stable one, `call_<position>`. Each call's arguments are then checked: a call
/// whose arguments are not one complete JSON object keeps them as sent and says what is
/// wrong in `argumentsError`.
final class CompletionCollector: TokenSink {
    private let state: Mutex<State>

    private struct State {
        var completion: Completion
        var calls = ToolCallAssembler()
        var deliveredContent = false
    }

    init(model: String) {
        state = Mutex(State(completion: Completion(model: model)))
    }

    var hasDeliveredContent: Bool { state.withLock { $0.deliveredContent } }

    func send(_ event: TokenEvent) async throws {
        try Task.checkCancellation()
        _ = try offer(event)
    }

    /// Always ready: the completion is gathered in memory.
    func offer(_ event: TokenEvent) throws -> Bool {
        try state.withLock { state in
            switch event {
            case .text(let text): state.completion.text += text
            case .toolCall(let delta): state.calls.add(delta)
            case .finish(let finish): state.completion.finish = finish
            case .error(let error):
                throw TokenwireError(code: GRPCStatus.Code(rawValue: Int(error.code)), message: error.message)
            case .start, .reasoning, .heartbeat, .jsonSnapshot: break
            }
            if event != .heartbeat { state.deliveredContent = true }
        }
        return true
    }

    func waitUntilReady() async throws {}

    /// The completion with its tool calls in the order they started, ids filled in and
    /// arguments checked.
    func result() -> Completion {
        state.withLock { state in
            var result = state.completion
            result.toolCalls = state.calls.toolCalls.enumerated().map { position, call in
                var call = call
                if call.id.isEmpty { call.id = "call_\(position)" }
                call.argumentsError = ToolCallArguments.problem(in: call.arguments) ?? ""
                return call
            }
            return result
        }
    }
}
