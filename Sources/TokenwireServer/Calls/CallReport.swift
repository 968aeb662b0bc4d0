import NIOCore
import Synchronization

/// What a call's handler learns that the call's log line reports: the model asked and the
/// one that served, the provider, when the first content left, and the tokens.
///
/// - Important: Any thread: the handler's task writes it once near its end, the call reads
///   it when the task is over.
final class CallReport: Sendable {
    struct Fields: Sendable {
        /// The model as the caller asked (an alias stays an alias).
        var requestedModel = ""
        /// The model and provider that served the call (after fallbacks).
        var servedModel = ""
        var provider = ""
        /// When the first content frame (text, tool call or reasoning) was queued for the
        /// client; StreamStart and heartbeats do not count.
        var firstContentAt: NIODeadline?
        var inputTokens: UInt32?
        var outputTokens: UInt32?
        /// Items of a batch.
        var items: Int?
    }

    private let fields = Mutex(Fields())

    func update(_ body: (inout Fields) -> Void) {
        fields.withLock { body(&$0) }
    }

    var snapshot: Fields { fields.withLock { $0 } }
}
