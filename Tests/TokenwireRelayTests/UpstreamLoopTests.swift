import NIOCore
import NIOPosix
import Testing
@testable import TokenwireRelay

/// Where a call's upstream exchange runs: on the loop of the call, so the upstream
/// connection, the body's parsing and the writes to the client share one thread.
@Suite("Upstream loop")
struct UpstreamLoopTests {
    @Test func exchangeOfACallOnOneOfTheClientsLoopsUsesThatLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        // Backwards and twice over, so a round-robin pick cannot pass by lining up.
        let loops = Array(Array(group.makeIterator()).reversed())
        for loop in loops + loops {
            let chosen = try await loop.submit { UpstreamExchange.callLoop(in: group) }.get()
            #expect(chosen === loop, "a call on \(loop) must read its upstream there, not on \(chosen)")
        }
        try await group.shutdownGracefully()
    }

    @Test func exchangeOfACallOffTheClientsLoopsUsesOneOfThem() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let other = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let fromOtherLoop = try await other.next().submit { UpstreamExchange.callLoop(in: group) }.get()
        let fromTask = UpstreamExchange.callLoop(in: group)
        for chosen in [fromOtherLoop, fromTask] {
            #expect(group.makeIterator().contains { $0 === chosen }, "\(chosen) is not one of the client's loops")
        }
        try await group.shutdownGracefully()
        try await other.shutdownGracefully()
    }
}
