import Testing
import TokenwireHTTP2
import TokenwireServer
import TokenwireTestSupport

@Suite("PING policy")
struct KeepaliveTests {
    @Test func clientPingsDuringALongCallArePermitted() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 10 }) { server, port in
            let client = try await RawHTTP2Client.connect(port: port)
            // A paced call of 1,000 tokens at 10/s outlasts the test; it ends when we close.
            let request = [0x0a, 0x0f] + Array("synthetic/paced".utf8) + [0x18, 0xe8, 0x07]
            let call = Task { try await client.send(path: "/tokenwire.v1.TokenStream/Generate", body: framed(request)) }
            _ = try await withTimeout(30, "the call to start") { await server.ledger.wait { $0.active == 1 } }
            for _ in 0..<20 { try await client.ping() }
            // A whole call after the PINGs: its answer proves the server read them all first.
            let after = try await client.send(path: "/tokenwire.v1.TokenStream/Generate", body: framed(floodRequestBytes))
            #expect(after.grpcStatus == 0)
            #expect(try await client.goAways().isEmpty)
            #expect(server.ledger.snapshot.active == 1)
            await client.close()
            _ = await call.result
        }
    }

    @Test func rapidPingsOnAnIdleConnectionGetTooManyPings() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            for _ in 0..<10 { try await client.ping() }
            try await withTimeout(30, "the server to close the connection") { try await client.closeFuture() }
            #expect(try await client.goAways().contains(.enhanceYourCalm))
        }
    }
}
