import TokenwireCore

/// What one request has received so far.
struct RelayRequest: Sendable {
    let sentAt: Int64
    var tokens = 0
    var firstTokenAt: Int64 = 0
    var finish: Finish?

    init(sentAt: Int64) {
        self.sentAt = sentAt
    }

    /// Records a text frame received at `time`: one token per stamp, or one unstamped token.
    mutating func receiveText(_ text: String, at time: Int64, into tally: inout RelayLoadTally) {
        let stamps = TokenStamps.forEach(in: text) { stamp in tally.latencies.append(time - stamp) }
        let count = max(stamps, 1)
        tally.stampedTokens += stamps
        tally.unstampedTokens += count - stamps
        tally.textFrames += 1
        tally.lastTokenTime = time
        tokens += count
        if firstTokenAt == 0 { firstTokenAt = time }
    }

    /// The request's time to first token, if a token came.
    var timeToFirstToken: Int64? { firstTokenAt == 0 ? nil : firstTokenAt - sentAt }

    /// Ends a request whose call ended with `status` (nil: OK), classifying it as
    /// `client.py`'s `Resp.close` does, with the gRPC status in place of the HTTP one.
    func close(status: TokenwireError?, expectedTokens: Int, requireUsage: Bool, into tally: inout RelayLoadTally) {
        tally.tokens += tokens
        if finish?.usage != nil { tally.usageSeen += 1 }
        if let timeToFirstToken { tally.timesToFirstToken.append(timeToFirstToken) }
        if let status {
            tally.error("grpc_\(status.code)", status.message)
        } else if finish == nil {
            tally.error("no_finish_reason")
        } else if expectedTokens > 0, tokens != expectedTokens {
            tally.error("token_count", "got \(tokens) expected \(expectedTokens)")
        } else if requireUsage, finish?.usage == nil {
            tally.error("no_usage")
        } else {
            tally.ok += 1
        }
    }
}
