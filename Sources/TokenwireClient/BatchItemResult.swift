public import TokenwireCore

/// One finished item of a `GenerateBatch` call: its whole answer, or why it failed.
public struct BatchItemResult: Sendable, Hashable {
    /// The item's position in `BatchRequest.items`.
    public var index: Int
    /// From the item's StreamStart.
    public var streamID: String
    public var model: String
    public var provider: String
    /// The text frames, joined.
    public var text: String
    /// The reasoning frames, joined.
    public var reasoning: String
    /// Tool calls assembled from their fragments, in the order they began.
    public var toolCalls: [ToolCall]
    /// The item's Finish frame; nil when it failed.
    public var finish: Finish?
    /// The item's ItemError frame; nil when it finished.
    public var error: ItemError?

    public init(
        index: Int, streamID: String = "", model: String = "", provider: String = "", text: String = "",
        reasoning: String = "", toolCalls: [ToolCall] = [], finish: Finish? = nil, error: ItemError? = nil
    ) {
        self.index = index
        self.streamID = streamID
        self.model = model
        self.provider = provider
        self.text = text
        self.reasoning = reasoning
        self.toolCalls = toolCalls
        self.finish = finish
        self.error = error
    }

    /// Whether the item ended with Finish rather than ItemError.
    public var succeeded: Bool { error == nil && finish != nil }
}
