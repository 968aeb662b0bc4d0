/// How much work the server takes on at once (`ServerConfiguration.limits`).
///
/// A *slot* is one provider call in progress: a `Generate` or `Complete` call, or one
/// running item of a `GenerateBatch`. `AdmissionControl` counts them.
public struct CallLimits: Sendable, Hashable {
    /// Slots the whole server may hold at once (`tokenwire serve --max-active-calls`).
    /// Past it, `Generate`, `Complete` and new batches get RESOURCE_EXHAUSTED at once.
    public var maxActiveCalls = 4096
    /// Items of one `GenerateBatch` that run at once when the request's `max_concurrency` is 0.
    public var batchDefaultConcurrency = 8
    /// The most items of one `GenerateBatch` that run at once; a larger `max_concurrency`
    /// is lowered to it.
    public var batchMaxConcurrency = 256
    /// The longest JSON document (bytes of text) a call that asks for buffered or snapshot
    /// delivery of structured output may hold (`--max-json-bytes`); a longer answer is
    /// delivered as it comes and its Finish says INVALID, naming this bound.
    public var maxJSONBytes = 1024 * 1024

    public init() {}

    /// The items of a batch that may run at once: the request's wish (or the default),
    /// capped by `batchMaxConcurrency` and by the number of items, and at least 1.
    /// - Parameters:
    ///   - requested: the request's `max_concurrency` (0: the server's default).
    ///   - items: how many items the batch has.
    public func batchConcurrency(requested: UInt32, items: Int) -> Int {
        let wanted = requested == 0 ? batchDefaultConcurrency : Int(requested)
        return max(1, min(wanted, batchMaxConcurrency, items))
    }
}
