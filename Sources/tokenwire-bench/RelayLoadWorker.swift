import TokenwireClient
import TokenwireCore

/// One stream slot of the load: requests back to back on its connection until the budget
/// says stop, recording every request as `client.py`'s `raw_worker` does.
struct RelayLoadWorker: Sendable {
    /// The run's connections, of the client `--client` chose.
    enum Pool: Sendable {
        case tokenwire(ConnectionPool<TokenwireClient>)
        case raw(ConnectionPool<ReadStampingConnection>)

        func connectAll() async throws {
            switch self {
            case .tokenwire(let pool): try await pool.connectAll()
            case .raw(let pool): try await pool.connectAll()
            }
        }

        func closeAll() async {
            switch self {
            case .tokenwire(let pool): await pool.closeAll()
            case .raw(let pool): await pool.closeAll()
            }
        }
    }

    let index: Int
    let configuration: RelayLoadConfiguration
    let pool: Pool
    let budget: RequestBudget

    private enum Outcome { case ended, connectionLost, cut }

    /// Runs until the budget is spent or the task is cancelled (the grace period ran out).
    func run() async -> RelayLoadTally {
        var tally = RelayLoadTally()
        let delay = configuration.ramp * Double(index) / Double(max(1, configuration.concurrency))
        if delay > 0 { try? await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
        let request = GenerateRequest(
            model: configuration.model, messages: [ChatMessage(role: "user", content: "Say something.")],
            maxTokens: UInt32(configuration.maxTokens))
        let slot = index % configuration.connections
        while budget.take() {
            let outcome: Outcome
            switch pool {
            case .tokenwire(let pool):
                guard let client = await connection(from: pool, slot: slot, into: &tally) else { continue }
                outcome = await stream(request, on: client, into: &tally)
                if outcome == .connectionLost { await pool.discard(client, slot: slot) }
            case .raw(let pool):
                guard let connection = await connection(from: pool, slot: slot, into: &tally) else { continue }
                outcome = await stream(request, on: connection, into: &tally)
                if outcome == .connectionLost { await pool.discard(connection, slot: slot) }
            }
            if outcome == .cut { break }
        }
        budget.workerFinished()
        return tally
    }

    /// The slot's connection, connecting first if need be; nil (counted, after a pause)
    /// when the server cannot be reached.
    private func connection<Client>(from pool: ConnectionPool<Client>, slot: Int, into tally: inout RelayLoadTally) async -> Client? {
        do {
            let client = try await pool.client(slot: slot)
            tally.started += 1
            return client
        } catch {
            tally.error("connect", "\(error)")
            try? await Task.sleep(for: .milliseconds(200))
            return nil
        }
    }

    /// One call on the raw client, which decodes and times the frames on its event loop.
    private func stream(_ request: GenerateRequest, on connection: ReadStampingConnection, into tally: inout RelayLoadTally) async -> Outcome {
        let result = await connection.generate(request, timeout: configuration.timeout)
        tally.merge(result.tally)
        let current = result.request
        if Task.isCancelled { return cut(current, &tally) }
        guard let error = result.error else {
            current.close(status: nil, expectedTokens: configuration.maxTokens, requireUsage: configuration.requireUsage, into: &tally)
            return .ended
        }
        return failed(current, error, &tally)
    }

    private func stream(_ request: GenerateRequest, on client: TokenwireClient, into tally: inout RelayLoadTally) async -> Outcome {
        var current = RelayRequest(sentAt: MonotonicClock.now())
        let deadline = Duration.milliseconds(Int(configuration.timeout * 1000))
        do {
            for try await frame in client.generate(request, deadline: deadline) {
                let now = MonotonicClock.now()
                switch frame.event {
                case .text(let text): current.receiveText(text, at: now, into: &tally)
                case .finish(let finish): current.finish = finish
                default: break
                }
            }
            if Task.isCancelled { return cut(current, &tally) }
            current.close(status: nil, expectedTokens: configuration.maxTokens, requireUsage: configuration.requireUsage, into: &tally)
            return .ended
        } catch {
            if Task.isCancelled { return cut(current, &tally) }
            return failed(current, error, &tally)
        }
    }

    /// The grace period ran out with this request in flight (`cut_at_deadline`).
    private func cut(_ current: RelayRequest, _ tally: inout RelayLoadTally) -> Outcome {
        tally.error("cut_at_deadline")
        tally.tokens += current.tokens
        return .cut
    }

    private func failed(_ current: RelayRequest, _ error: any Error, _ tally: inout RelayLoadTally) -> Outcome {
        guard let status = error as? TokenwireError else {
            tally.error("conn_error", "\(error)")
            return connectionLost(current, &tally)
        }
        if status.code == .deadlineExceeded {
            tally.error("timeout")
            tally.tokens += current.tokens
            return .ended
        }
        if Self.isConnectionLoss(status) {
            tally.error("conn_error", status.message)
            return connectionLost(current, &tally)
        }
        current.close(status: status, expectedTokens: configuration.maxTokens, requireUsage: configuration.requireUsage, into: &tally)
        return .ended
    }

    private func connectionLost(_ current: RelayRequest, _ tally: inout RelayLoadTally) -> Outcome {
        tally.tokens += current.tokens
        if let timeToFirstToken = current.timeToFirstToken { tally.timesToFirstToken.append(timeToFirstToken) }
        return .connectionLost
    }

    /// The client reports a lost connection or a GOAWAY as UNAVAILABLE, like a server's
    /// UNAVAILABLE status (an upstream that ended early); only its messages tell them apart.
    private static func isConnectionLoss(_ error: TokenwireError) -> Bool {
        guard error.code == .unavailable else { return false }
        return ["the connection to", "GOAWAY", "cannot start a call", "shutting down"].contains { error.message.contains($0) }
    }
}
