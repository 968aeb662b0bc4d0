public import Foundation
public import TokenwireCore

/// Why `generateJSON` has no document to decode: the answer was not the complete, valid
/// JSON asked for (`check` says how), or it was but did not decode as the type.
public struct StructuredOutputError: Error, Sendable, CustomStringConvertible {
    /// The server's verdict on the text (`Finish.json`); nil when the call ended without one.
    public var check: JSONCheck?
    /// Why the Finish came (`length`: the answer hit `max_tokens`).
    public var finishReason: String
    /// The answer's text, as it came: nothing is lost.
    public var text: String
    /// Set when the document was valid JSON but did not decode as the type asked for.
    public var decodingError: String?

    public var description: String {
        if let decodingError { return "the answer is valid JSON but does not decode: \(decodingError)" }
        guard let check else { return "the answer carries no JSON verdict (finish \(finishReason)): did the request ask for JSON?" }
        return "the answer is not the JSON document asked for (finish \(finishReason)): \(check)"
    }
}

extension TokenwireClient {
    /// Asks for a JSON answer delivered whole (`ResponseFormat.Delivery.buffered`) and
    /// decodes it as `type`.
    ///
    /// The request's `responseFormat` decides what is asked for (`.jsonObject` when it has
    /// none); its delivery is set to `.buffered`.
    /// - Throws: `StructuredOutputError` when the answer is not the complete, valid
    ///   document (its text is in the error), or does not decode; `TokenwireError` when
    ///   the call fails.
    public func generateJSON<Value: Decodable>(
        _ request: GenerateRequest, as type: Value.Type = Value.self, decoder: JSONDecoder = JSONDecoder(),
        deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) async throws -> Value {
        var request = request
        var format = request.responseFormat ?? .jsonObject()
        if !format.wantsJSON { format.kind = .jsonObject }
        format.delivery = .buffered
        request.responseFormat = format
        var text = ""
        var finish: Finish?
        for try await frame in generate(request, deadline: deadline, metadata: metadata) {
            switch frame.event {
            case .text(let piece): text += piece
            case .finish(let last): finish = last
            default: break
            }
        }
        guard let check = finish?.json, check.isValid else {
            throw StructuredOutputError(check: finish?.json, finishReason: finish?.reason ?? "", text: text)
        }
        do {
            return try decoder.decode(Value.self, from: Data(text.utf8))
        } catch {
            throw StructuredOutputError(check: check, finishReason: finish?.reason ?? "", text: text, decodingError: "\(error)")
        }
    }

    /// Streams a JSON answer as snapshots (`ResponseFormat.Delivery.snapshots`): each
    /// element is the document so far, closed into valid JSON, for a UI that renders a
    /// form as it fills. The last element is the whole document when it completed; the
    /// stream's Finish (and its `json` verdict) is available from `generate`.
    ///
    /// The request's `responseFormat` decides what is asked for (`.jsonObject` when it has
    /// none); its delivery is set to `.snapshots`.
    public func jsonSnapshots(
        _ request: GenerateRequest, deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) -> AsyncCompactMapSequence<TokenFrameStream, String> {
        var request = request
        var format = request.responseFormat ?? .jsonObject()
        if !format.wantsJSON { format.kind = .jsonObject }
        format.delivery = .snapshots
        request.responseFormat = format
        return generate(request, deadline: deadline, metadata: metadata).compactMap { frame in
            if case .jsonSnapshot(let snapshot) = frame.event { snapshot } else { nil }
        }
    }
}
