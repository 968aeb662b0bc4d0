import TokenwireUpstream

/// One builder per dialect. Each event template is a line of a recorded stream in
/// `Tests/TokenwireUpstreamTests/Fixtures/` (named per builder), with only the token text,
/// sequence numbers and counts changed; TGI's native `/generate_stream` has no recording
/// there, so its template follows TGI's documented `StreamResponse`.
extension SyntheticStream {
    /// A response of `tokens` text tokens in the dialect of `kind`.
    static func make(_ kind: UpstreamDialectKind, tokens: Int) -> SyntheticStream {
        let texts = (0..<tokens).map(TokenText.token)
        switch kind {
        case .openAIChat: return openAIChat(texts)
        case .openAIResponses: return openAIResponses(texts)
        case .anthropic: return anthropic(texts)
        case .gemini: return gemini(texts)
        case .cohere: return cohere(texts)
        case .ollama: return ollama(texts)
        case .tgi: return tgi(texts)
        }
    }

    /// `openai-chat-text-usage.sse`: role chunk, content chunks, finish chunk, usage chunk, `[DONE]`.
    private static func openAIChat(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .openAIChat)
        let head = #"{"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[{"index":0,"delta":"#
        builder.add(json: head + #"{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#)
        for text in texts {
            builder.add(json: head + #"{"content":\#(BenchJSON.quoted(text))},"logprobs":null,"finish_reason":null}]}"#, text: text)
        }
        builder.add(json: head + #"{},"logprobs":null,"finish_reason":"stop"}]}"#)
        builder.add(json: #"{"id":"chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL","object":"chat.completion.chunk","created":1727346168,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":\#(texts.count),"total_tokens":\#(texts.count + 14),"completion_tokens_details":{"reasoning_tokens":0}}}"#)
        builder.addSentinel("[DONE]")
        return builder.build(finishReason: "stop")
    }

    /// `openai-responses-text.sse`: created, in_progress, item and part added, text deltas,
    /// the done events (each repeating the whole text), completed.
    private static func openAIResponses(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .openAIResponses)
        let item = "msg_0f9c4b2f224d858000695fa063d4708197af73c2f37cb0b9d3"
        let whole = BenchJSON.quoted(texts.joined())
        var sequence = 0
        func add(_ type: String, _ fields: String, text: String? = nil) {
            builder.add(event: type, json: #"{"type":"\#(type)",\#(fields),"sequence_number":\#(sequence)}"#, text: text)
            sequence += 1
        }
        add("response.created", #""response":\#(responseObject(status: "in_progress", output: "", usage: "null"))"#)
        add("response.in_progress", #""response":\#(responseObject(status: "in_progress", output: "", usage: "null"))"#)
        add("response.output_item.added", #""item":{"id":"\#(item)","type":"message","status":"in_progress","content":[],"role":"assistant"},"output_index":0"#)
        add("response.content_part.added", #""content_index":0,"item_id":"\#(item)","output_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}"#)
        for (position, text) in texts.enumerated() {
            let obfuscation = String("N16SG5UiLncOUOpojJ3pv0h55".prefix(3 + position % 12))
            add("response.output_text.delta", #""content_index":0,"delta":\#(BenchJSON.quoted(text)),"item_id":"\#(item)","logprobs":[],"obfuscation":"\#(obfuscation)","output_index":0"#, text: text)
        }
        let part = #"{"type":"output_text","annotations":[],"logprobs":[],"text":\#(whole)}"#
        let message = #"{"id":"\#(item)","type":"message","status":"completed","content":[\#(part)],"role":"assistant"}"#
        add("response.output_text.done", #""content_index":0,"item_id":"\#(item)","logprobs":[],"output_index":0,"text":\#(whole)"#)
        add("response.content_part.done", #""content_index":0,"item_id":"\#(item)","output_index":0,"part":\#(part)"#)
        add("response.output_item.done", #""item":\#(message),"output_index":0"#)
        let usage = #"{"input_tokens":11,"input_tokens_details":{"cached_tokens":0},"output_tokens":\#(texts.count),"output_tokens_details":{"reasoning_tokens":0},"total_tokens":\#(texts.count + 11)}"#
        add("response.completed", #""response":\#(responseObject(status: "completed", output: message, usage: usage))"#)
        return builder.build(finishReason: "stop")
    }

    private static func responseObject(status: String, output: String, usage: String) -> String {
        #"{"id":"resp_0f9c4b2f224d858000695fa062bf048197a680f357bbb09000","object":"response","created_at":1767874658,"status":"\#(status)","background":false,"completed_at":null,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"gpt-4o-mini-2024-07-18","output":[\#(output)],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"prompt_cache_retention":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"auto","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":\#(usage),"user":null,"metadata":{}}"#
    }

    /// `anthropic-text-ping-no-final-blank-line.sse` (with its final blank line): message_start,
    /// content_block_start, ping, text deltas, content_block_stop, message_delta, message_stop.
    private static func anthropic(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .anthropic)
        builder.add(event: "message_start", json: #"{"type":"message_start","message":{"id":"msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK","type":"message","role":"assistant","content":[],"model":"claude-3-opus-latest","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}"#)
        builder.add(event: "content_block_start", json: #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        builder.add(event: "ping", json: #"{"type": "ping"}"#)
        for text in texts {
            builder.add(event: "content_block_delta", json: #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":\#(BenchJSON.quoted(text))}}"#, text: text)
        }
        builder.add(event: "content_block_stop", json: #"{"type":"content_block_stop","index":0}"#)
        builder.add(event: "message_delta", json: #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(texts.count)}}"#)
        builder.add(event: "message_stop", json: #"{"type":"message_stop"}"#)
        return builder.build(finishReason: "stop")
    }

    /// `gemini-thought-functioncall-crlf.sse` (CRLF framing): one whole response per event,
    /// usage repeated on each, the last one with `finishReason` and an empty text part.
    private static func gemini(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .gemini, lineEnd: "\r\n")
        let tail = #""modelVersion": "gemini-3-pro-preview","responseId": "B94haYr_OovWjMcPjJy_6Qk"}"#
        for text in texts {
            builder.add(json: #"{"candidates": [{"content": {"parts": [{"text": \#(BenchJSON.quoted(text))}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 131,"totalTokenCount": 131,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 131}]},"# + tail, text: text)
        }
        builder.add(json: #"{"candidates": [{"content": {"parts": [{"text": ""}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 131,"candidatesTokenCount": \#(texts.count),"totalTokenCount": \#(texts.count + 131),"promptTokensDetails": [{"modality": "TEXT","tokenCount": 131}]},"# + tail)
        return builder.build(finishReason: "stop")
    }

    /// `cohere-v2-parallel-toolcalls.reframed.sse`'s framing and message-start/message-end,
    /// with Cohere v2's documented content-start / content-delta / content-end text events.
    private static func cohere(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .cohere)
        builder.add(event: "message-start", json: #"{"id":"2941521a-b87a-45f6-9b0d-235fd66c3025","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#)
        builder.add(event: "content-start", json: #"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}"#)
        for text in texts {
            builder.add(event: "content-delta", json: #"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":\#(BenchJSON.quoted(text))}}}}"#, text: text)
        }
        builder.add(event: "content-end", json: #"{"type":"content-end","index":0}"#)
        builder.add(event: "message-end", json: #"{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":119,"output_tokens":\#(texts.count)},"tokens":{"input_tokens":1549,"output_tokens":\#(texts.count)},"cached_tokens":1504}}}"#)
        return builder.build(finishReason: "stop")
    }

    /// `ollama-chat-text.ndjson`: one line per token, then the `done: true` line.
    private static func ollama(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .ollama)
        for (position, text) in texts.enumerated() {
            let micros = String(100_000 + position * 37).suffix(6)
            builder.add(json: #"{"model":"granite3-dense:8b","created_at":"2025-03-20T18:32:37.\#(micros)Z","message":{"role":"assistant","content":\#(BenchJSON.quoted(text))},"done":false}"#, text: text)
        }
        builder.add(json: #"{"model":"granite3-dense:8b","created_at":"2025-03-20T18:32:38.766786Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":2203237375,"load_duration":336223209,"prompt_eval_count":37,"prompt_eval_duration":355000000,"eval_count":\#(texts.count),"eval_duration":1511000000}"#)
        return builder.build(finishReason: "stop")
    }

    /// TGI `/generate_stream` (`data:` with no space): one event per token, the last one a
    /// special end-of-sequence token with `generated_text` and `details`.
    private static func tgi(_ texts: [String]) -> SyntheticStream {
        var builder = SyntheticStreamBuilder(kind: .tgi, dataPrefix: "data:")
        for (position, text) in texts.enumerated() {
            let logprob = -Double(position % 97) / 61
            builder.add(json: #"{"index":\#(position + 1),"token":{"id":\#(1000 + position * 13 % 31000),"text":\#(BenchJSON.quoted(text)),"logprob":\#(logprob),"special":false},"generated_text":null,"details":null,"top_tokens":null}"#, text: text)
        }
        builder.add(json: #"{"index":\#(texts.count + 1),"token":{"id":2,"text":"</s>","logprob":-0.0001,"special":true},"generated_text":\#(BenchJSON.quoted(texts.joined())),"details":{"finish_reason":"eos_token","generated_tokens":\#(texts.count + 1),"seed":null,"input_length":12},"top_tokens":null}"#)
        return builder.build(finishReason: "stop")
    }
}

/// Token texts as a BPE tokenizer cuts English prose and code: mostly a leading space and a
/// short word, some punctuation, newlines, a quote and a few non-ASCII characters, so JSON
/// escapes and multi-byte UTF-8 occur as often as in real answers.
enum TokenText {
    static let vocabulary = [
        " the", " stream", "ing", " of", " tokens", ",", " and", " a", " relay", " that", " is", " to",
        ".", "\n\n", " model", " response", " in", " each", " event", " JSON", " —", " café", " \"", "quoted",
        "\"", " function", "(", "x", ")", " {\n", "    return", " 42", ";\n", "}", " naïve", " 😀", " we",
        " measure", " latency", " per", " chunk", ":", " server", "-sent", " events", " over", " HTTP", "/2",
    ]

    /// Token `position` of the answer.
    static func token(_ position: Int) -> String {
        vocabulary[(position &* 7 &+ 3) % vocabulary.count]
    }
}
