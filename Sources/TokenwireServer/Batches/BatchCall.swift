import Synchronization
import TokenwireCore

/// Runs the items of one `GenerateBatch` call, at most `concurrency` at once, each through
/// `ProviderRegistry.routes(for:)` and `TokenStreamService.run` (the provider, then its
/// fallbacks) exactly like `Generate`.
///
/// - The call is admitted or refused as a whole (`AdmissionControl.admitBatch`); its first
///   lane holds that anchor slot, the others take a slot per item and wait for one when
///   the server is at its limit.
/// - An item that fails ends with an ItemError frame and the call goes on. The call ends
///   early only for a call-level fault: the client went away, the deadline passed (both
///   cancel this task), or the server began to shut down (no new item starts; the running
///   ones finish; then UNAVAILABLE naming the items that never started).
/// - Items start in index order; they finish in any order.
struct BatchCall: Sendable {
    let request: BatchRequest
    let concurrency: Int
    let providers: ProviderRegistry
    let admission: AdmissionControl
    let sequencer: BatchFrameSequencer
    /// `CallLimits.maxJSONBytes`, for items that ask for structured output.
    var maxJSONBytes = CallLimits().maxJSONBytes

    /// Runs every item; returns when all have ended.
    /// - Throws: `TokenwireError` for a call-level fault (RESOURCE_EXHAUSTED when not
    ///   admitted, UNAVAILABLE on shutdown, CANCELLED when the client has gone);
    ///   `CancellationError` when the call was cancelled.
    func run() async throws {
        let items = request.items.count
        guard items > 0 else { return }
        let ticket = try admission.admitBatch()
        let cursor = BatchCursor(count: items)
        defer {
            admission.closeWaits(for: ticket)
            admission.forget(ticket)
            admission.releaseSlot()  // the anchor
        }
        try await withThrowingTaskGroup(of: Void.self) { lanes in
            for lane in 0..<concurrency {
                lanes.addTask { try await runLane(holdsAnchor: lane == 0, cursor: cursor, ticket: ticket) }
            }
            try await lanes.waitForAll()
        }
        let started = cursor.claimed
        if started < items {
            throw TokenwireError.unavailable(
                "the server is shutting down: items \(started)..<\(items) of this batch were not started "
                + "(\(items - started) of \(items)); send them again to another server")
        }
    }

    /// Runs items one after another until none is left (or the server drains).
    private func runLane(holdsAnchor: Bool, cursor: BatchCursor, ticket: AdmissionControl.BatchTicket) async throws {
        while !admission.isDraining {
            if !holdsAnchor {
                guard cursor.hasMore else { return }
                let hasSlot = admission.tryTakeSlot() ? true : try await admission.waitForSlot(for: ticket)
                guard hasSlot else { return }
            }
            guard let (index, isLast) = cursor.claim() else {
                if !holdsAnchor { admission.releaseSlot() }
                return
            }
            // No item is left to start: lanes still waiting for a slot may stop.
            if isLast { admission.closeWaits(for: ticket) }
            do {
                try await runItem(index)
            } catch {
                if !holdsAnchor { admission.releaseSlot() }
                throw error
            }
            if !holdsAnchor { admission.releaseSlot() }
        }
    }

    /// Streams one item: StreamStart, its events, then Finish or ItemError. The item goes
    /// through the model's routes (fallbacks included) like a `Generate` call.
    private func runItem(_ index: Int) async throws {
        let item = request.items[index]
        let start = StreamStart(streamID: TokenStreamService.makeStreamID(), model: item.model, provider: "")
        let sink = BatchItemSink(sequencer: sequencer, index: UInt32(index), start: start)
        do {
            let routes = try providers.routes(for: item.model)
            sink.route(to: routes[0].provider.name, model: routes[0].model)
            try await TokenStreamService.run(
                item, routes: routes, into: sink, filters: providers.filters(requested: item.model, routes: routes),
                stages: providers.stages(requested: item.model, routes: routes), hedge: providers.hedge(for: item.model),
                maxJSONBytes: maxJSONBytes)
            try await sink.end()
        } catch {
            if let fault = sink.callFault { throw fault }
            try Task.checkCancellation()
            try await sink.fail(Self.itemError(for: error))
        }
    }

    /// What an item's failure looks like in its ItemError frame.
    static func itemError(for error: any Error) -> ItemError {
        switch error {
        case let error as TokenwireError:
            ItemError(code: UInt32(error.code.rawValue), message: error.message)
        case is CancellationError:
            ItemError(code: UInt32(GRPCStatus.Code.cancelled.rawValue), message: "the item was cancelled")
        default:
            ItemError(code: UInt32(GRPCStatus.Code.unknown.rawValue), message: "the item failed: \(error)")
        }
    }
}

/// Hands out a batch's item indices in order, to whichever lane asks first.
private final class BatchCursor: Sendable {
    private let count: Int
    private let next = Mutex(0)

    init(count: Int) {
        self.count = count
    }

    /// Whether an item is left to start.
    var hasMore: Bool { next.withLock { $0 < count } }

    /// Items handed out so far.
    var claimed: Int { next.withLock { $0 } }

    /// The next item's index, and whether it is the last; nil when none is left.
    func claim() -> (index: Int, isLast: Bool)? {
        next.withLock { next in
            guard next < count else { return nil }
            defer { next += 1 }
            return (next, next == count - 1)
        }
    }
}
