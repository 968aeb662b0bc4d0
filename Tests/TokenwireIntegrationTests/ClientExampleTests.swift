import Foundation
import Testing
import TokenwireProcess
import TokenwireServer
import TokenwireTestSupport

/// examples/ClientExample, built with the package, run as a user would against a server.
@Suite struct ClientExampleTests {
    var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("tokenwire-client-example").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? repositoryRoot.appendingPathComponent(".build/debug/tokenwire-client-example").path
    }

    @Test func theExampleThatImportsOnlyTheClientRunsEveryCallItShows() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 2000 }) { _, port in
            let output = try await runProcess(binary, ["--port", "\(port)"])
            #expect(output.status == 0, "\(output.stderr)")
            #expect(
                output.stdout.split(separator: "\n").map(String.init) == [
                    "text: the quick brown fox ",
                    "grpc-status: 0",
                    "frames: 5 finish: length",
                    "json: Lisbon 545923",
                    "item 0: the quick ",
                    "item 1: NOT_FOUND",
                    "error: NOT_FOUND",
                    "health: SERVING",
                ], "\(output.stdout)")
        }
    }
}
