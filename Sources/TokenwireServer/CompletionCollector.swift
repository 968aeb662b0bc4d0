import TokenwireCore

/// Gathers a provider's events into one `Completion` (for `Complete`).
///
/// Tool-call fragments are joined by index: a fragment with a new id at an index starts a
/// new call; a repeated id is not appended again.
final class CompletionCollector: TokenSink {
    private(set) var completion: Completion
    private var calls: [(index: UInt32, call: ToolCall)] = []

    init(model: String) {
        completion = Completion(model: model)
    }

    func send(_ event: TokenEvent) async throws {
        try Task.checkCancellation()
        switch event {
        case .text(let text): completion.text += text
        case .toolCall(let delta): add(delta)
        case .finish(let finish): completion.finish = finish
        case .error(let error):
            throw TokenwireError(code: GRPCStatus.Code(rawValue: Int(error.code)), message: error.message)
        case .start, .reasoning, .heartbeat: break
        }
    }

    /// The completion with its tool calls in index order.
    func result() -> Completion {
        var result = completion
        result.toolCalls = calls.map(\.call)
        return result
    }

    private func add(_ delta: ToolCallDelta) {
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
