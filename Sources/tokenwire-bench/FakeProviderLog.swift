import AsyncHTTPClient
import Foundation
import NIOCore

/// The fake provider's request log (`GET /_fake/requests/<id>`, tools/fake_provider/README.md):
/// how one upstream request ended.
struct FakeProviderLog: Sendable {
    /// One request's entry.
    struct Entry: Sendable {
        /// `completed`, `client-disconnected`, `reset`, ... or `in-progress`.
        var outcome: String
        /// Whether the client (the relay) went away before the response was over.
        var disconnected: Bool
        /// When the response was over (`time.time_ns()`), if it is.
        var endNanoseconds: Int64?
    }

    let baseURL: String
    let http: HTTPClient

    /// The entry of request `id`, once its response is over (waiting at most `seconds`;
    /// an entry still `in-progress` after that comes back as it is).
    /// - Throws: `BenchError` when the provider cannot be asked or does not know the id.
    func entry(_ id: String, waitingAtMost seconds: Int = 20) async throws -> Entry {
        let request = HTTPClientRequest(url: "\(baseURL)/_fake/requests/\(id)?wait_ms=\(seconds * 1000)")
        let response = try await http.execute(request, timeout: .seconds(Int64(seconds + 10)))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok,
            let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let outcome = object["outcome"] as? String
        else {
            throw BenchError(.verificationFailed, "the fake provider has no log entry \(id) (HTTP \(response.status.code))")
        }
        return Entry(
            outcome: outcome, disconnected: object["disconnected"] as? Bool ?? false,
            endNanoseconds: (object["end_ns"] as? NSNumber)?.int64Value)
    }
}
