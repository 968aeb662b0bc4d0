/// Joins tool-call fragments into whole calls, the one rule every consumer of a stream
/// follows (the Swift client, `Complete`'s collector, the dialect tests):
/// - fragments with the same `index` make one call;
/// - a fragment with a new, different non-empty id at an index starts another call there;
/// - a fragment that repeats its call's id is appended to that call (the id is not joined);
/// - the first non-empty name is the call's name.
public struct ToolCallAssembler: Sendable, Hashable {
    private var calls: [(index: UInt32, call: ToolCall)] = []

    public init() {}

    /// The calls so far, in the order they began.
    public var toolCalls: [ToolCall] { calls.map(\.call) }

    /// Adds one fragment.
    public mutating func add(_ delta: ToolCallDelta) {
        if let last = calls.lastIndex(where: { $0.index == delta.index }),
            delta.id.isEmpty || delta.id == calls[last].call.id
        {
            if calls[last].call.name.isEmpty { calls[last].call.name = delta.name }
            calls[last].call.arguments += delta.arguments
        } else {
            calls.append((delta.index, ToolCall(id: delta.id, name: delta.name, arguments: delta.arguments)))
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.calls.map(\.index) == rhs.calls.map(\.index) && lhs.toolCalls == rhs.toolCalls
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(calls.map(\.index))
        hasher.combine(toolCalls)
    }
}
