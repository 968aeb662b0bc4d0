import TokenwireCore

/// Joins tool-call fragments into whole calls: fragments with the same index make one
/// call; a fragment with a new id at an index starts another.
struct ToolCallAssembler: Sendable, Hashable {
    private var calls: [(index: UInt32, call: ToolCall)] = []

    /// The calls so far, in the order they began.
    var toolCalls: [ToolCall] { calls.map(\.call) }

    mutating func add(_ delta: ToolCallDelta) {
        if let last = calls.lastIndex(where: { $0.index == delta.index }),
            delta.id.isEmpty || delta.id == calls[last].call.id
        {
            if calls[last].call.name.isEmpty { calls[last].call.name = delta.name }
            calls[last].call.arguments += delta.arguments
        } else {
            calls.append((delta.index, ToolCall(id: delta.id, name: delta.name, arguments: delta.arguments)))
        }
    }

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.calls.map(\.index) == rhs.calls.map(\.index) && lhs.toolCalls == rhs.toolCalls
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(calls.map(\.index))
        hasher.combine(toolCalls)
    }
}
