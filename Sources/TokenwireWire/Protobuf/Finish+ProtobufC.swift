internal import CTokenwireProto
internal import TokenwireCore

extension Finish {
    /// Runs `body` with the finish as a stack protobuf-c struct, valid only inside `body`;
    /// `usage == nil` leaves the sub-message absent (`NULL`).
    @inline(__always)
    func withCMessage<Result>(_ body: (UnsafeMutablePointer<Tokenwire__V1__Finish>) -> Result) -> Result {
        var message = Tokenwire__V1__Finish()
        tokenwire__v1__finish__init(&message)
        var usageMessage = Tokenwire__V1__Usage()
        tokenwire__v1__usage__init(&usageMessage)
        if let usage {
            usageMessage.input_tokens = usage.inputTokens
            usageMessage.output_tokens = usage.outputTokens
        }
        var jsonMessage = Tokenwire__V1__JsonCheck()
        tokenwire__v1__json_check__init(&jsonMessage)
        if let json { jsonMessage.verdict = Tokenwire__V1__JsonCheck__Verdict(rawValue: UInt32(bitPattern: json.verdict.rawValue)) }
        return ProtobufCCodec.withBytes(reason) { reason in
            message.reason = reason
            return ProtobufCCodec.withBytes(json?.error ?? "") { jsonError in
                jsonMessage.error = jsonError
                return withUnsafeMutablePointer(to: &jsonMessage) { jsonPointer in
                    message.json = json == nil ? nil : jsonPointer
                    return withUnsafeMutablePointer(to: &usageMessage) { usagePointer in
                        message.usage = usage == nil ? nil : usagePointer
                        return withUnsafeMutablePointer(to: &message) { body($0) }
                    }
                }
            }
        }
    }

    /// The finish an unpacked protobuf-c struct carries; an absent `usage` reads as `nil`.
    init(cMessage message: Tokenwire__V1__Finish) {
        let usage = message.usage.map {
            Usage(inputTokens: $0.pointee.input_tokens, outputTokens: $0.pointee.output_tokens)
        }
        let json = message.json.map {
            JSONCheck(
                verdict: JSONCheck.Verdict(rawValue: Int32(bitPattern: $0.pointee.verdict.rawValue)),
                error: ProtobufCCodec.string($0.pointee.error))
        }
        self.init(reason: ProtobufCCodec.string(message.reason), usage: usage, json: json)
    }
}
