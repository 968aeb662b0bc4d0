public import TokenwireCore

/// Turns the frames of a `GenerateBatch` response into per-item results, checking the
/// call's framing on the way: seq 1, 2, 3, … without gaps; every item opened by
/// StreamStart before its other frames; ended by Finish or ItemError exactly once.
///
/// A value type with no I/O: feed it frames with `add(_:)`, then call `finish()` when the
/// call has ended with OK.
public struct BatchResultAssembler: Sendable {
    private struct OpenItem: Sendable {
        var result: BatchItemResult
        var toolCalls = ToolCallAssembler()
    }

    private var open: [UInt32: OpenItem] = [:]
    private var ended: Set<UInt32> = []
    private var lastSeq: UInt64 = 0

    public init() {}

    /// Items ended so far (finished or failed).
    public var itemsEnded: Int { ended.count }

    /// Takes the call's next frame.
    /// - Returns: the item's result when this frame ended it (Finish or ItemError).
    /// - Throws: `TokenwireError(.internal)` when the frame breaks the batch framing.
    public mutating func add(_ frame: TokenFrame) throws(TokenwireError) -> BatchItemResult? {
        guard frame.seq == lastSeq + 1 else {
            throw .internal("the batch response is out of order: frame seq \(frame.seq) arrived where seq \(lastSeq + 1) was due")
        }
        lastSeq = frame.seq
        let index = frame.index
        if case .start(let start) = frame.event {
            guard open[index] == nil, !ended.contains(index) else {
                throw .internal("batch item \(index) was started twice (seq \(frame.seq))")
            }
            open[index] = OpenItem(result: BatchItemResult(
                index: Int(index), streamID: start.streamID, model: start.model, provider: start.provider))
            return nil
        }
        guard var item = open[index] else {
            throw .internal("frame seq \(frame.seq) belongs to batch item \(index), which is not open")
        }
        switch frame.event {
        case .text(let text): item.result.text += text
        case .reasoning(let text): item.result.reasoning += text
        case .toolCall(let delta): item.toolCalls.add(delta)
        case .finish(let finish): item.result.finish = finish
        case .error(let error): item.result.error = error
        case .heartbeat, .start, .jsonSnapshot, nil: break
        }
        guard item.result.finish != nil || item.result.error != nil else {
            open[index] = item
            return nil
        }
        open[index] = nil
        ended.insert(index)
        item.result.toolCalls = item.toolCalls.toolCalls
        return item.result
    }

    /// Checks that the call, which has ended with OK, left no item open.
    /// - Throws: `TokenwireError(.internal)` naming the items that never ended.
    public func finish() throws(TokenwireError) {
        guard open.isEmpty else {
            let indices = open.keys.sorted().prefix(10).map(String.init).joined(separator: ", ")
            throw .internal("the batch call ended with OK but \(open.count) items never ended (\(indices))")
        }
    }
}
