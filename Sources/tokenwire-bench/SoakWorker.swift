#if canImport(Glibc)
import Glibc
#endif
import TokenwireClient
import TokenwireCore

/// One of the soak's concurrent streams: calls back to back until the run's end, each with
/// the fault `SoakMix` picks, each checked against the ending its fault implies.
struct SoakWorker: Sendable {
    let index: Int
    let configuration: SoakConfiguration
    let pool: ConnectionPool<TokenwireClient>
    let tally: SoakTally
    let upstream: FakeProviderLog
    /// `MonotonicClock` time after which no call starts.
    let stopStartingAt: Int64

    /// What the client saw of one call.
    private struct Seen {
        var texts = 0
        var finish: Finish?
        var error: (any Error)?
        /// Wall-clock time of the client's cancel (the fake provider logs `time.time_ns()`).
        var cancelledAt: Int64?
    }

    func run() async {
        var random = SplitMix64(seed: configuration.seed &+ UInt64(index) &* 0x1000_0000_01B3)
        var number = 0
        // Spread the first calls over the first seconds, so the streams do not move in step.
        let delay = Double(index) / Double(max(1, configuration.streams)) * configuration.ramp
        if delay > 0 { try? await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
        let slot = index % configuration.connections
        while MonotonicClock.now() < stopStartingAt, !Task.isCancelled {
            let client: TokenwireClient
            do {
                client = try await pool.client(slot: slot)
            } catch {
                tally.started()  // a call that could not start fails
                tally.failed("connect: \(error)", tokens: 0)
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            number += 1
            let call = configuration.mix.next(&random)
            let id = "soak-\(index)-\(number)"
            tally.started()
            let seen = await perform(call, id: id, on: client)
            if Task.isCancelled, seen.error != nil { return }  // cut at the end of the grace period: never ended
            await check(call, id: id, seen: seen, client: client)
        }
    }

    /// Makes the call; for `.cancel`, cancels it once `after` tokens have arrived.
    private func perform(_ call: SoakCall, id: String, on client: TokenwireClient) async -> Seen {
        // Steady pacing: a provider that fell behind on a loaded machine must not catch up in
        // a burst, which would finish a stream before a cancel could reach it.
        var metadata = [
            "x-fake-request-id": id, "x-fake-tokens": "\(call.tokens)", "x-fake-rate": "\(configuration.rate)",
            "x-fake-pacing": "steady",
        ]
        if let fault = call.fault { metadata["x-fake-fault"] = fault }
        let request = GenerateRequest(
            model: configuration.model, messages: [ChatMessage(role: "user", content: "soak")], maxTokens: UInt32(call.tokens),
            metadata: metadata)
        let cancelAfter: Int? = if case .cancel(_, let after) = call { after } else { nil }
        let deadline = Duration.seconds(configuration.callDeadline)
        // A task of its own, so the cancel ends this call and not the worker; cancelling the
        // worker (the end of the grace period) cancels it too.
        let call = Task {
            var seen = Seen()
            do {
                for try await frame in client.generate(request, deadline: deadline) {
                    switch frame.event {
                    case .text:
                        seen.texts += 1
                        if seen.texts == cancelAfter {
                            seen.cancelledAt = Self.wallClockNanoseconds()
                            withUnsafeCurrentTask { $0?.cancel() }
                        }
                    case .finish(let finish):
                        seen.finish = finish
                    default:
                        break
                    }
                }
            } catch {
                seen.error = error
            }
            return seen
        }
        return await withTaskCancellationHandler { await call.value } onCancel: { call.cancel() }
    }

    /// Counts the call as ended the way its fault implies, or as a failure saying how not.
    private func check(_ call: SoakCall, id: String, seen: Seen, client: TokenwireClient) async {
        let status = seen.error.map { error -> TokenwireError in
            if let error = error as? TokenwireError { return error }
            if error is CancellationError { return TokenwireError(code: .cancelled, message: "cancelled by the client") }
            return TokenwireError(code: .unknown, message: "\(error)")
        }
        if let status, Self.isConnectionLoss(status) {
            if await pool.wasReset(client) {
                // Cut by one of our connection resets: the server must end the upstream request.
                if seen.texts > 0 { await expectUpstreamOver(id, disconnectedIfOpenAt: nil) }
                tally.ended(.connectionReset, tokens: seen.texts)
            } else {
                await pool.discard(client, slot: index % configuration.connections)
                tally.failed("\(id) \(call): the connection was lost: \(status.message)", tokens: seen.texts)
            }
            return
        }
        let problem: String?
        switch call {
        case .normal(let tokens):
            problem =
                status.map { "ended \($0.code): \($0.message)" }
                ?? (seen.texts != tokens ? "got \(seen.texts) tokens, not \(tokens)" : nil)
                ?? (seen.finish == nil ? "no Finish" : nil)
        case .cancel(let tokens, let after):
            if status == nil, seen.texts == tokens, seen.finish != nil {
                // The whole call had reached the client before it cancelled: nothing to cancel.
                tally.cancelCameLate(afterCall: true)
                problem = nil
            } else {
                problem =
                    status?.code != .cancelled ? "ended \(status.map { "\($0.code): \($0.message)" } ?? "OK"), not CANCELLED"
                    : seen.texts != after ? "cancelled after \(seen.texts) tokens, not \(after)" : nil
                if problem == nil { await expectUpstreamOver(id, disconnectedIfOpenAt: seen.cancelledAt) }
            }
        case .upstreamReset(_, let events):
            // A TCP reset may discard bytes the relay had not read yet: at most K - 1 tokens.
            problem =
                status?.code != .unavailable ? "ended \(status.map { "\($0.code): \($0.message)" } ?? "OK"), not UNAVAILABLE"
                : seen.texts > events - 1 ? "got \(seen.texts) tokens before the fault, more than \(events - 1)" : nil
        case .upstreamDrop(_, let events):
            problem =
                status?.code != .unavailable ? "ended \(status.map { "\($0.code): \($0.message)" } ?? "OK"), not UNAVAILABLE"
                : seen.texts != events - 1 ? "got \(seen.texts) tokens before the fault, not \(events - 1)" : nil
        case .upstreamUnavailable:
            problem =
                status?.code != .unavailable ? "ended \(status.map { "\($0.code): \($0.message)" } ?? "OK"), not UNAVAILABLE"
                : seen.texts != 0 ? "got \(seen.texts) tokens from a provider that answered 503" : nil
        }
        if let problem {
            tally.failed("\(id) \(call): \(problem)", tokens: seen.texts)
        } else {
            tally.ended(call.kind, tokens: seen.texts)
        }
    }

    /// Asks the fake provider how request `id` ended: it must be over (the relay closed or
    /// finished it); with `cancelledAt`, ended by the relay going away unless the response
    /// was already over at that moment.
    private func expectUpstreamOver(_ id: String, disconnectedIfOpenAt cancelledAt: Int64?) async {
        do {
            let entry = try await upstream.entry(id)
            tally.upstreamChecked()
            if entry.outcome == "in-progress" {
                tally.upstreamFailed("\(id): the provider's request is still in progress 20 s after the call ended")
            } else if let cancelledAt, !entry.disconnected {
                if let end = entry.endNanoseconds, end <= cancelledAt {
                    tally.cancelCameLate(afterCall: false)
                } else {
                    tally.upstreamFailed(
                        "\(id): the provider's request ended '\(entry.outcome)' after the client cancelled, not by the relay going away")
                }
            }
        } catch {
            tally.upstreamFailed("\(id): \(error)")
        }
    }

    static func wallClockNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// The client reports a lost connection as UNAVAILABLE; its messages tell it apart from
    /// a server's UNAVAILABLE status (as in `RelayLoadWorker`).
    private static func isConnectionLoss(_ error: TokenwireError) -> Bool {
        guard error.code == .unavailable else { return false }
        return ["the connection to", "GOAWAY", "cannot start a call", "shutting down"].contains { error.message.contains($0) }
    }
}
