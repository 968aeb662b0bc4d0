import TokenwireClient
import TokenwireCore

/// One finished batch item as one line of JSON (the `tokenwire batch` output format):
/// `index`, `line` (in the input file), `id` (when the input line has one), `model`, then
/// `text`, `reasoning` (when there is any), `tool_calls`, `finish` with `usage`, or `error`
/// with `code`, `status` and `message`.
enum BatchResultJSON {
    static func encode(_ result: BatchItemResult, line: Int, id: String?) -> String {
        var fields = ["\"index\":\(result.index)", "\"line\":\(line)"]
        if let id { fields.append("\"id\":\(FrameJSON.quote(id))") }
        fields.append("\"model\":\(FrameJSON.quote(result.model))")
        if let error = result.error {
            let status = error.status
            fields.append("\"error\":{\"code\":\(error.code),\"status\":\"\(status)\",\"message\":\(FrameJSON.quote(error.message))}")
            return "{" + fields.joined(separator: ",") + "}"
        }
        fields.append("\"text\":\(FrameJSON.quote(result.text))")
        if !result.reasoning.isEmpty { fields.append("\"reasoning\":\(FrameJSON.quote(result.reasoning))") }
        let calls = result.toolCalls.map { call in
            "{\"id\":\(FrameJSON.quote(call.id)),\"name\":\(FrameJSON.quote(call.name)),\"arguments\":\(FrameJSON.quote(call.arguments))}"
        }
        fields.append("\"tool_calls\":[\(calls.joined(separator: ","))]")
        if let finish = result.finish {
            var usage = ""
            if let u = finish.usage { usage = ",\"usage\":{\"input_tokens\":\(u.inputTokens),\"output_tokens\":\(u.outputTokens)}" }
            fields.append("\"finish\":{\"reason\":\(FrameJSON.quote(finish.reason))\(usage)}")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
