public import NIOCore
public import TokenwireCore

/// Bounds on how many elements a request may carry, checked on the wire bytes before
/// protobuf-c unpacks them.
///
/// protobuf-c allocates a struct and a pointer for every element of a repeated field, and
/// the Swift values cost more again: an empty `ChatMessage` is 2 bytes on the wire and about
/// 100 in memory, so 4 MiB of them (2 million) cost about 200 MiB before any check could run.
/// Counting first bounds the cost of a request by its size.
public enum RequestShapeLimits {
    /// The most chat messages one `GenerateRequest` (or one batch item) may carry.
    public static let maxChatMessages = 10_000
    /// The most metadata entries one `GenerateRequest` (or one batch item) may carry.
    public static let maxMetadataEntries = 1_000
    /// The most tools one `GenerateRequest` (or one batch item) may declare.
    public static let maxTools = 1_000
    /// The most tool calls the chat messages of one `GenerateRequest` (or one batch item)
    /// may carry in all.
    public static let maxToolCalls = 10_000
    /// The most items one `BatchRequest` may carry.
    public static let maxBatchItems = 10_000
    /// The most chat messages, metadata entries, tools and tool calls one `BatchRequest`
    /// may carry in all.
    public static let maxBatchElements = 100_000

    /// - Throws: `.invalidArgument` naming the count and the limit when a
    ///   `tokenwire.v1.GenerateRequest` carries too many messages or metadata entries.
    public static func checkGenerateRequest(_ bytes: ByteBuffer) throws(TokenwireError) {
        let counts = bytes.withUnsafeReadableBytes { ProtobufWireScanner.generateRequestCounts($0) }
        if let problem = problem(counts, item: nil) { throw problem }
    }

    /// - Throws: `.invalidArgument` naming the count and the limit when a
    ///   `tokenwire.v1.BatchRequest` carries too many items, or too many elements in all.
    public static func checkBatchRequest(_ bytes: ByteBuffer) throws(TokenwireError) {
        var items = 0
        var elements = 0
        var failure: TokenwireError?
        bytes.withUnsafeReadableBytes { raw in
            ProtobufWireScanner.forEachField(in: raw) { field, wireType, value in
                guard field == 1, wireType == 2, failure == nil else { return }
                items += 1
                let counts = ProtobufWireScanner.generateRequestCounts(value)
                elements += counts.all
                failure = problem(counts, item: items - 1)
            }
        }
        if let failure { throw failure }
        if items > maxBatchItems {
            throw .invalidArgument("the batch has \(items) items; at most \(maxBatchItems) are accepted: split it into several calls")
        }
        if elements > maxBatchElements {
            throw .invalidArgument(
                "the batch's items carry \(elements) messages, metadata entries, tools and tool calls in all; at most \(maxBatchElements) are accepted: split it into several calls")
        }
    }

    private static func problem(_ counts: ProtobufWireScanner.GenerateRequestCounts, item: Int?) -> TokenwireError? {
        let subject = item.map { "batch item \($0)" } ?? "the request"
        if counts.messages > maxChatMessages {
            return .invalidArgument("\(subject) has \(counts.messages) chat messages; at most \(maxChatMessages) are accepted")
        }
        if counts.metadata > maxMetadataEntries {
            return .invalidArgument("\(subject) has \(counts.metadata) metadata entries; at most \(maxMetadataEntries) are accepted")
        }
        if counts.tools > maxTools {
            return .invalidArgument("\(subject) declares \(counts.tools) tools; at most \(maxTools) are accepted")
        }
        if counts.toolCalls > maxToolCalls {
            return .invalidArgument("\(subject)'s messages carry \(counts.toolCalls) tool calls; at most \(maxToolCalls) are accepted")
        }
        return nil
    }
}
