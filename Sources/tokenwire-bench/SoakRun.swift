import AsyncHTTPClient
import Foundation
import NIOPosix
import Synchronization
import TokenwireClient

/// One soak run: `streams` workers make calls with faults mixed in for `minutes`, one of
/// the client connections is closed now and then, and the server process is sampled every
/// `sampleSeconds`; then the calls in flight get `grace` seconds to end.
struct SoakRun {
    let configuration: SoakConfiguration

    /// What the run saw.
    struct Result: Sendable {
        /// The server before the load started (idle, connections open).
        var before: ProcessSample
        var samples: [SoakSample]
        /// The server once every call had ended (or the grace period was over).
        var after: ProcessSample
        var calls: SoakTally.Snapshot
        var loadSeconds: Double
    }

    /// Runs the soak.
    /// - Throws: `BenchError` when the server cannot be reached or sampled.
    func run() async throws -> Result {
        let configuration = configuration
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // A connection reset sends up to streams/connections log checks at once; the default
        // pool (8 connections per host) queued them past their timeout on a busy machine.
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: httpConfiguration)
        let pool = ConnectionPool<TokenwireClient>(host: configuration.host, port: configuration.port, count: configuration.connections, group: group)
        func shutDown() async {
            await pool.closeAll()
            try? await http.shutdown()
            try? await group.shutdownGracefully()
        }
        do {
            try await pool.connectAll()
        } catch {
            await shutDown()
            throw BenchError(.connectFailed, "cannot connect to \(configuration.host):\(configuration.port)", cause: error)
        }
        let result: Result
        do {
            result = try await load(pool: pool, upstream: FakeProviderLog(baseURL: configuration.fakeProviderURL, http: http))
        } catch {
            await shutDown()
            throw error
        }
        await shutDown()
        return result
    }

    private func load(pool: ConnectionPool<TokenwireClient>, upstream: FakeProviderLog) async throws -> Result {
        let configuration = configuration
        let before = try ProcessSample(pid: configuration.serverPID)
        let tally = SoakTally()
        let workersDone = FinishedWorkers()
        let start = MonotonicClock.now()
        let loadSeconds = configuration.minutes * 60
        let stopStartingAt = start + Int64(loadSeconds * 1e9)
        let hardStop = stopStartingAt + Int64(configuration.grace * 1e9)
        var samples: [SoakSample] = []
        var sampleError: (any Error)?
        var failuresShown = 0
        await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<configuration.streams {
                let worker = SoakWorker(
                    index: index, configuration: configuration, pool: pool, tally: tally, upstream: upstream,
                    stopStartingAt: stopStartingAt)
                tasks.addTask {
                    await worker.run()
                    workersDone.add()
                }
            }
            if configuration.resetSeconds > 0 {
                tasks.addTask { await Self.resetConnections(pool, every: configuration.resetSeconds, count: configuration.connections, until: stopStartingAt) }
            }
            var nextSample = start + Int64(configuration.sampleSeconds * 1e9)
            while true {
                let now = MonotonicClock.now()
                let allDone = workersDone.count == configuration.streams
                if allDone || now >= hardStop { break }
                if now >= nextSample {
                    nextSample += Int64(configuration.sampleSeconds * 1e9)
                    do {
                        let sample = try Self.sample(configuration, tally: tally, elapsed: Double(now - start) / 1e9)
                        samples.append(sample)
                        SoakRun.say(sample.line)
                        for reason in sample.calls.failureSamples.dropFirst(failuresShown) { SoakRun.say("  failure: \(reason)") }
                        failuresShown = sample.calls.failureSamples.count
                    } catch {
                        sampleError = error
                        break
                    }
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
            tasks.cancelAll()  // the resetter, and calls still in flight past the grace period
        }
        if let sampleError { throw sampleError }
        let after = try ProcessSample(pid: configuration.serverPID)
        return Result(before: before, samples: samples, after: after, calls: tally.snapshot, loadSeconds: loadSeconds)
    }

    private static func sample(_ configuration: SoakConfiguration, tally: SoakTally, elapsed: Double) throws -> SoakSample {
        let server = try ProcessSample(pid: configuration.serverPID)
        let fake = configuration.fakeProviderPID > 0 ? (try? ProcessSample(pid: configuration.fakeProviderPID))?.residentKiB : nil
        return SoakSample(elapsed: elapsed, calls: tally.snapshot, server: server, fakeProviderKiB: fake)
    }

    /// Writes a line to stdout at once (a pipe to `tee` would otherwise hold it back).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Closes connection 0, 1, 2, ... in turn, one every `seconds`, until `end`.
    private static func resetConnections(_ pool: ConnectionPool<TokenwireClient>, every seconds: Double, count: Int, until end: Int64) async {
        var slot = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            guard !Task.isCancelled, MonotonicClock.now() < end else { return }
            await pool.reset(slot: slot % count)
            slot += 1
        }
    }
}

/// How many workers have returned.
private final class FinishedWorkers: Sendable {
    private let state = Mutex(0)
    var count: Int { state.withLock { $0 } }
    func add() { state.withLock { $0 += 1 } }
}
