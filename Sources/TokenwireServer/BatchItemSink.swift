import TokenwireCore

/// The sink of one `GenerateBatch` item: its frames go to the call's shared stream,
/// tagged with the item's index.
///
/// The item's StreamStart goes out just before its first event, and the item always ends
/// with Finish or ItemError: `fail(_:)` sends the StreamStart first if nothing was sent,
/// and `end()` turns a provider that returned without Finish into an ItemError.
/// A failed write is the call's fault, not the item's: it is kept in `callFault`, so the
/// batch can end the call rather than report an item error on a stream that is gone.
final class BatchItemSink: TokenSink {
    private let sequencer: BatchFrameSequencer
    let index: UInt32
    /// Sent before the item's first event; the provider is filled in once it is known.
    var start: StreamStart
    private var started = false
    private(set) var ended = false
    /// Why the last write failed (the client went away), if one did.
    private(set) var callFault: (any Error)?

    init(sequencer: BatchFrameSequencer, index: UInt32, start: StreamStart) {
        self.sequencer = sequencer
        self.index = index
        self.start = start
    }

    func send(_ event: TokenEvent) async throws {
        if !started {
            started = true
            try await write(.start(start))
        }
        switch event {
        case .finish, .error: ended = true
        default: break
        }
        try await write(event)
    }

    /// Ends the item with an ItemError (after its StreamStart, if none went out yet).
    func fail(_ error: ItemError) async throws {
        guard !ended else { return }
        try await send(.error(error))
    }

    /// Called after the provider returned: an item without Finish ends with INTERNAL.
    func end(providerName: String) async throws {
        guard !ended else { return }
        try await fail(ItemError(
            code: UInt32(GRPCStatus.Code.internal.rawValue),
            message: "provider '\(providerName)' ended item \(index) without a Finish event"))
    }

    private func write(_ event: TokenEvent) async throws {
        do {
            try await sequencer.send(event, index: index)
        } catch {
            callFault = error
            throw error
        }
    }
}
