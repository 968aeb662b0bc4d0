import TokenwireProviders
import Synchronization
import TokenwireCore

/// The sink of one `GenerateBatch` item: its frames go to the call's shared stream,
/// tagged with the item's index.
///
/// - The item's StreamStart goes out just before its first event (or heartbeat), and the
///   item always ends with Finish or ItemError: `fail(_:)` sends the StreamStart first if
///   nothing was sent, and `end()` turns a provider that returned without Finish into an
///   ItemError.
/// - Heartbeats may come from another task while the provider's task is inside `send`;
///   the item's frames are queued under the item's lock, so they keep their order.
/// - A failed write is the call's fault, not the item's: it is kept in `callFault`, so the
///   batch ends the call rather than report an item error on a stream that is gone.
final class BatchItemSink: TokenSink {
    private struct State {
        var start: StreamStart
        var started = false
        var ended = false
        var deliveredContent = false
        var callFault: TokenwireError?
    }

    private let sequencer: BatchFrameSequencer
    let index: UInt32
    private let state: Mutex<State>

    init(sequencer: BatchFrameSequencer, index: UInt32, start: StreamStart) {
        self.sequencer = sequencer
        self.index = index
        self.state = Mutex(State(start: start))
    }

    /// Why a write failed (the client went away), if one did.
    var callFault: TokenwireError? { state.withLock { $0.callFault } }

    var hasDeliveredContent: Bool { state.withLock { $0.deliveredContent } }

    func send(_ event: TokenEvent) async throws {
        try await sequencer.settle(try enqueue(event))
    }

    func offer(_ event: TokenEvent) throws -> Bool {
        try !enqueue(event).mustWaitForCapacity
    }

    func waitUntilReady() async throws {
        try await sequencer.waitUntilReady()
    }

    func heartbeat() {
        // Never waits: a heartbeat is a few bytes, and the watchdog must not block.
        _ = try? enqueue(.heartbeat)
    }

    func route(to provider: String, model: String) {
        state.withLock { state in
            guard !state.started else { return }
            state.start.provider = provider
            state.start.model = model
        }
    }

    /// Ends the item with an ItemError (after its StreamStart, if none went out yet),
    /// unless it has ended already.
    func fail(_ error: ItemError) async throws {
        guard !state.withLock({ $0.ended }) else { return }
        try await send(.error(error))
    }

    /// Called after the provider returned: an item without Finish ends with INTERNAL.
    func end() async throws {
        let provider = state.withLock { $0.start.provider }
        try await fail(ItemError(
            code: UInt32(GRPCStatus.Code.internal.rawValue),
            message: "provider '\(provider)' ended item \(index) without a Finish event"))
    }

    private func enqueue(_ event: TokenEvent) throws(TokenwireError) -> GRPCResponseWriter.Enqueued {
        try state.withLock { state throws(TokenwireError) in
            do throws(TokenwireError) {
                if !state.started {
                    state.started = true
                    _ = try sequencer.enqueue(.start(state.start), index: index)
                }
                switch event {
                case .finish, .error: state.ended = true
                case .heartbeat: break
                default: state.deliveredContent = true
                }
                return try sequencer.enqueue(event, index: index)
            } catch {
                state.callFault = error
                throw error
            }
        }
    }
}
