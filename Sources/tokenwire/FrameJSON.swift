import TokenwireCore

/// One `TokenFrame` as one line of JSON, with the proto's field names.
enum FrameJSON {
    static func encode(_ frame: TokenFrame) -> String {
        var fields = ["\"seq\":\(frame.seq)", "\"index\":\(frame.index)"]
        switch frame.event {
        case .start(let start):
            fields.append("\"start\":{\"stream_id\":\(quote(start.streamID)),\"model\":\(quote(start.model)),\"provider\":\(quote(start.provider)),\"resume_token\":\(quote(start.resumeToken))}")
        case .text(let text):
            fields.append("\"text\":\(quote(text))")
        case .reasoning(let text):
            fields.append("\"reasoning\":\(quote(text))")
        case .toolCall(let call):
            fields.append("\"tool_call\":{\"index\":\(call.index),\"id\":\(quote(call.id)),\"name\":\(quote(call.name)),\"arguments\":\(quote(call.arguments))}")
        case .finish(let finish):
            var usage = ""
            if let u = finish.usage { usage = ",\"usage\":{\"input_tokens\":\(u.inputTokens),\"output_tokens\":\(u.outputTokens)}" }
            var json = ""
            if let check = finish.json { json = ",\"json\":{\"verdict\":\(quote("\(check.verdict)")),\"error\":\(quote(check.error))}" }
            fields.append("\"finish\":{\"reason\":\(quote(finish.reason))\(usage)\(json)}")
        case .heartbeat:
            fields.append("\"heartbeat\":{}")
        case .jsonSnapshot(let snapshot):
            fields.append("\"json_snapshot\":\(quote(snapshot))")
        case .error(let error):
            fields.append("\"error\":{\"code\":\(error.code),\"message\":\(quote(error.message))}")
        case nil:
            break
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 escaping).
    static func quote(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
