public import TokenwireCore

/// A custom output stage, for what regular expressions cannot say (a classifier, a
/// moderation model, a rewriter): configured per model in
/// `ServerConfiguration.outputStages` and run after the built-in filters of the providers
/// file, on `Generate`, `Complete` and every `GenerateBatch` item.
///
/// A stage makes one `OutputStageProcessor` per call. The processor sees the call's events
/// in order as they are released (text, reasoning, tool calls, Finish, ItemError; never
/// StreamStart or heartbeats) and answers what goes on. The hold-back contract is the
/// filters': a processor may hold events back (return fewer than it got) and release them
/// on a later event or at `finish`, but whatever it holds delays the client, so hold only
/// as much as a decision needs. `stop` ends the call like a deny filter: the events it
/// returns go out, the provider is cancelled, and the call ends with
/// `Finish { reason: "content_filter" }`.
///
/// ```swift
/// struct NoShouting: OutputStage {
///     func makeProcessor(model: String) -> any OutputStageProcessor { Processor() }
///     struct Processor: OutputStageProcessor {
///         var capitals = 0
///         mutating func process(_ event: TokenEvent) -> OutputStageVerdict {
///             guard case .text(let text) = event else { return .pass([event]) }
///             capitals += text.filter(\.isUppercase).count
///             return capitals > 200 ? .stop([]) : .pass([event])
///         }
///     }
/// }
/// configuration.outputStages = ["fast": [NoShouting()]]
/// ```
public protocol OutputStage: Sendable {
    /// The processor of one call that asked for `model`.
    func makeProcessor(model: String) -> any OutputStageProcessor
}

/// One call's custom stage: called by one producer at a time, under the call's stage lock
/// (keep each call short: it runs on the path of every token).
public protocol OutputStageProcessor {
    /// An event released to this stage.
    mutating func process(_ event: TokenEvent) -> OutputStageVerdict
    /// The provider is done (or failed): release whatever is held. By default, nothing.
    mutating func finish() -> OutputStageVerdict
}

extension OutputStageProcessor {
    public mutating func finish() -> OutputStageVerdict { .pass([]) }
}

/// What goes on after a custom stage looked at an event.
public enum OutputStageVerdict: Sendable, Hashable {
    /// These events go on (none holds the event back; several release held ones).
    case pass([TokenEvent])
    /// These events go on, then the call ends with `Finish { reason: "content_filter" }`.
    case stop([TokenEvent])
}
