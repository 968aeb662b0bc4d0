import Synchronization
import TokenwireCore

/// Gathers a provider's events into one `Completion` (for `Complete`).
///
/// Tool-call fragments are joined by index, as providers stream them: a fragment with a
/// new id at an index starts a new call there; a fragment that repeats its call's id is
/// appended to that call (the id is not concatenated); a call that never gets an id is
/// given a stable one, `call_<position>`. Each call's arguments are then checked: a call
/// whose arguments are not one complete JSON object keeps them as sent and says what is
/// wrong in `argumentsError`.
final class CompletionCollector: TokenSink {
    private let state: Mutex<State>

    private struct State {
        var completion: Completion
        var calls: [(index: UInt32, call: ToolCall)] = []
        var deliveredContent = false
    }

    init(model: String) {
        state = Mutex(State(completion: Completion(model: model)))
    }

    var hasDeliveredContent: Bool { state.withLock { $0.deliveredContent } }

    func send(_ event: TokenEvent) async throws {
        try Task.checkCancellation()
        try state.withLock { state in
            switch event {
            case .text(let text): state.completion.text += text
            case .toolCall(let delta): Self.add(delta, to: &state.calls)
            case .finish(let finish): state.completion.finish = finish
            case .error(let error):
                throw TokenwireError(code: GRPCStatus.Code(rawValue: Int(error.code)), message: error.message)
            case .start, .reasoning, .heartbeat: break
            }
            if event != .heartbeat { state.deliveredContent = true }
        }
    }

    /// The completion with its tool calls in the order they started, ids filled in and
    /// arguments checked.
    func result() -> Completion {
        state.withLock { state in
            var result = state.completion
            result.toolCalls = state.calls.enumerated().map { position, entry in
                var call = entry.call
                if call.id.isEmpty { call.id = "call_\(position)" }
                call.argumentsError = ToolCallArguments.problem(in: call.arguments) ?? ""
                return call
            }
            return result
        }
    }

    private static func add(_ delta: ToolCallDelta, to calls: inout [(index: UInt32, call: ToolCall)]) {
        if let last = calls.lastIndex(where: { $0.index == delta.index }),
            delta.id.isEmpty || delta.id == calls[last].call.id
        {
            if calls[last].call.name.isEmpty { calls[last].call.name = delta.name }
            calls[last].call.arguments += delta.arguments
        } else {
            calls.append((delta.index, ToolCall(id: delta.id, name: delta.name, arguments: delta.arguments)))
        }
    }
}
