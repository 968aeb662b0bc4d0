// Reading chat-completion chunks straight from the parsed document: the per-token path of
// openai-chat and every server that copies it. Each `init(reading:)` gives what the type's
// synthesized `Decodable` conformance gives (nil for missing or null members, a throw for
// a member of the wrong type); the rarer members (usage, errors, tool calls, Mistral's
// typed content) go through `JSONTreeDecoder` for exactly that reason.

extension OpenAIChatDialect.Chunk {
    /// Reads a chunk as `init(from:)` would decode it.
    init(reading json: JSONNodeReader) throws {
        try json.requireObject()
        self.init(
            object: try json.member(Keys.object)?.string(),
            choices: try json.member(Keys.choices)?.elements().map(OpenAIChatDialect.Choice.init(reading:)),
            usage: try json.member(Keys.usage)?.decode(OpenAIChatDialect.WireUsage.self),
            error: try json.member(Keys.error)?.decode(OpenAIChatDialect.WireError.self),
            message: try json.member(Keys.message)?.string(),
            type: try json.member(Keys.type)?.string(),
            code: try json.member(Keys.code)?.decode(LossyString.self)
        )
    }
}

extension OpenAIChatDialect.Choice {
    /// Reads a choice as `init(from:)` would decode it.
    init(reading json: JSONNodeReader) throws {
        try json.requireObject()
        self.init(
            index: try json.member(Keys.index)?.int(),
            delta: try json.member(Keys.delta).map(OpenAIChatDialect.Delta.init(reading:)),
            finish_reason: try json.member(Keys.finish_reason)?.string()
        )
    }
}

extension OpenAIChatDialect.Delta {
    /// Reads a delta as `init(from:)` would decode it.
    init(reading json: JSONNodeReader) throws {
        try json.requireObject()
        self.init(
            content: json.member(Keys.content).map(Self.content(reading:)),
            refusal: try json.member(Keys.refusal)?.string(),
            reasoning_content: try json.member(Keys.reasoning_content)?.string(),
            reasoning: try json.member(Keys.reasoning)?.string(),
            tool_calls: try json.member(Keys.tool_calls)?.decode([OpenAIChatDialect.ToolCallFragment].self)
        )
    }

    /// `content` as `Lenient<Content>` decodes it: a string directly, anything else
    /// through the decoder, and nil for what `Content` cannot decode.
    private static func content(reading json: JSONNodeReader) -> Lenient<OpenAIChatDialect.Content> {
        if json.isString, let text = try? json.string() {
            return Lenient(value: OpenAIChatDialect.Content(text: text))
        }
        return Lenient(value: try? json.decode(OpenAIChatDialect.Content.self))
    }
}

/// The keys read, prepared once.
private enum Keys {
    static let choices = JSONKey("choices")
    static let code = JSONKey("code")
    static let content = JSONKey("content")
    static let delta = JSONKey("delta")
    static let error = JSONKey("error")
    static let finish_reason = JSONKey("finish_reason")
    static let index = JSONKey("index")
    static let message = JSONKey("message")
    static let object = JSONKey("object")
    static let reasoning = JSONKey("reasoning")
    static let reasoning_content = JSONKey("reasoning_content")
    static let refusal = JSONKey("refusal")
    static let tool_calls = JSONKey("tool_calls")
    static let type = JSONKey("type")
    static let usage = JSONKey("usage")
}
