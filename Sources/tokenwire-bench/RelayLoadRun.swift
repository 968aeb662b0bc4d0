import Foundation
import NIOPosix
import TokenwireClient

/// One `relay-load` run: connect, run the workers for the duration plus grace, and report
/// what `client.py` reports, under the same JSON keys.
struct RelayLoadRun {
    let configuration: RelayLoadConfiguration

    private enum ChildResult: Sendable {
        case worker(RelayLoadTally)
        case monitor(ProcessWatch)
    }

    /// Runs the load and returns the result object.
    /// - Throws: `BenchError` if a connection cannot be made before the run starts, or a
    ///   `--watch` spec is malformed.
    func run() async throws(BenchError) -> BenchJSON {
        let configuration = configuration
        var watch = try ProcessWatch(specs: configuration.watch)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoops)
        let pool: RelayLoadWorker.Pool
        do {
            let (host, port, count) = (configuration.host, configuration.port, configuration.connections)
            switch configuration.client {
            case .tokenwire: pool = .tokenwire(ConnectionPool(host: host, port: port, count: count, group: group))
            case .raw: pool = .raw(ConnectionPool(host: host, port: port, count: count, group: group))
            }
            try await pool.connectAll()
        } catch {
            try? await group.shutdownGracefully()
            throw BenchError(.connectFailed, "cannot connect to \(configuration.host):\(configuration.port)", cause: error)
        }
        watch.start()
        let cpuStart = MonotonicClock.processCPUTime()
        let start = MonotonicClock.now()
        let budget = RequestBudget(deadline: start + RelayLoadConfiguration.nanoseconds(configuration.duration), requests: configuration.requests)
        let hardStop = start + RelayLoadConfiguration.nanoseconds(configuration.duration + configuration.grace)
        let (tally, watched) = await withTaskGroup(of: ChildResult.self) { tasks in
            for index in 0..<configuration.concurrency {
                let worker = RelayLoadWorker(index: index, configuration: configuration, pool: pool, budget: budget)
                tasks.addTask { .worker(await worker.run()) }
            }
            tasks.addTask { [watch] in
                .monitor(await Self.monitor(watch, budget: budget, workers: configuration.concurrency, until: hardStop))
            }
            var total = RelayLoadTally()
            var finalWatch = watch
            while let result = await tasks.next() {
                switch result {
                case .worker(let tally): total.merge(tally)
                case .monitor(let watch):
                    finalWatch = watch
                    tasks.cancelAll()  // workers still streaming past the grace period are cut
                }
            }
            return (total, finalWatch)
        }
        let end = MonotonicClock.now()
        let cpuEnd = MonotonicClock.processCPUTime()
        let seconds = Double(end - start) / 1e9
        let watchJSON = watched.stop(seconds: seconds)
        await pool.closeAll()
        try? await group.shutdownGracefully()
        return result(tally, start: start, end: end, clientCPU: Double(cpuEnd - cpuStart) / 1e9, watch: watchJSON)
    }

    /// Samples RSS every 0.5 s until every worker has ended or the hard stop.
    private static func monitor(_ watch: ProcessWatch, budget: RequestBudget, workers: Int, until hardStop: Int64) async -> ProcessWatch {
        var watch = watch
        var nextSample = MonotonicClock.now() + 500_000_000
        while budget.finishedWorkers < workers, MonotonicClock.now() < hardStop {
            try? await Task.sleep(for: .milliseconds(10))
            if MonotonicClock.now() >= nextSample {
                watch.sample()
                nextSample += 500_000_000
            }
        }
        return watch
    }

    private func result(_ tally: RelayLoadTally, start: Int64, end: Int64, clientCPU: Double, watch: BenchJSON) -> BenchJSON {
        let seconds = Double(end - start) / 1e9
        // tokens/s over the window from the start until the last token was received
        let span = Double((tally.lastTokenTime > 0 ? tally.lastTokenTime : end) - start) / 1e9
        let configuration = configuration
        return .object([
            ("name", .string(configuration.name)), ("url", .string("grpc://\(configuration.host):\(configuration.port)")),
            ("impl", .string("tokenwire-bench/\(configuration.client.rawValue)")), ("model", .string(configuration.model)),
            ("concurrency", .int(configuration.concurrency)), ("max_tokens", .int(configuration.maxTokens)),
            ("label", .string(configuration.label)), ("connections", .int(configuration.connections)),
            ("duration_s", .number((seconds * 1000).rounded() / 1000)),
            ("requests_started", .int(tally.started)), ("requests_ok", .int(tally.ok)),
            ("errors", .object(tally.errors.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ("error_examples", .object(tally.errorExamples.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("tokens", .int(tally.tokens)),
            ("tokens_per_s", .number(span > 0 ? (Double(tally.tokens) / span * 10).rounded() / 10 : 0)),
            ("ttft_ms", Percentiles.json(tally.timesToFirstToken)),
            ("token_latency_ms", Percentiles.json(tally.latencies)),
            // client.py counts tokens per socket read; a gRPC client sees messages, not reads.
            ("tokens_per_read", .null),
            ("tokens_per_frame", .number(tally.textFrames > 0 ? (Double(tally.tokens) / Double(tally.textFrames) * 100).rounded() / 100 : nil)),
            ("tokens_stamped", .int(tally.stampedTokens)), ("tokens_unstamped", .int(tally.unstampedTokens)),
            ("usage_chunks_seen", .int(tally.usageSeen)),
            ("client_cpu_pct", .number(seconds > 0 ? (1000 * clientCPU / seconds).rounded() / 10 : nil)),
            ("watch", watch), ("unix_time", .number((Date().timeIntervalSince1970 * 1000).rounded() / 1000)),
        ])
    }
}
