import Testing
import TokenwireHTTP2
import TokenwireServer

@Suite("PING policy")
struct KeepaliveTests {
    @Test func clientPingsDuringALongCallArePermitted() async throws {
        try await withTestServer(configure: { $0.pacedTokensPerSecond = 200 }) { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            // A paced call of 40 tokens at 200/s stays open about 200 ms.
            let request = [0x0a, 0x0f] + Array("synthetic/paced".utf8) + [0x18, 40]
            async let response = client.send(path: "/tokenwire.v1.TokenStream/Generate", body: framed(request))
            for _ in 0..<20 { try await client.ping() }
            let answer = try await response
            #expect(answer.grpcStatus == 0)
            #expect(try await client.goAways().isEmpty)
            await client.close()
        }
    }

    @Test func rapidPingsOnAnIdleConnectionGetTooManyPings() async throws {
        try await withTestServer { _, port in
            let client = try await RawHTTP2Client.connect(port: port)
            for _ in 0..<10 { try await client.ping() }
            try await withTimeout(10, "the server to close the connection") { try await client.closeFuture() }
            #expect(try await client.goAways().contains(.enhanceYourCalm))
        }
    }
}
