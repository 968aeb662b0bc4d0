import Testing
import TokenwireClient
import TokenwireCore
import TokenwireRelay
import TokenwireTestSupport
import TokenwireUpstream

/// GenerateBatch over a real upstream: the fake provider, with faults injected into some
/// items through their metadata (forwarded as `x-fake-*` headers).
@Suite("GenerateBatch over the fake provider")
struct BatchRelayTests {
    @Test func faultsInjectedIntoSomeItemsLeaveTheOtherItemsIntact() async throws {
        try await withFakeProvider { fake in
            let relay = RelayConfiguration(providers: [fake.provider(.openAIChat), fake.provider(.anthropic)])
            try await withServerAndClient(relay: relay) { server, client in
                let items = (0..<40).map { index -> GenerateRequest in
                    let provider = index % 2 == 0 ? "openai-chat" : "anthropic"
                    switch index % 10 {
                    case 4: return fakeRequest(provider, ["x-fake-tokens": "10", "x-fake-fault": "reset-after:5"])
                    case 7: return fakeRequest(provider, ["x-fake-fault": "status:429"])
                    default: return fakeRequest(provider, ["x-fake-tokens": "\(3 + index % 5)"])
                    }
                }
                let results = try await withTimeout(120, "the batch over the fake provider") {
                    try await client.generateBatch(BatchRequest(items: items, maxConcurrency: 8)).collect()
                }
                #expect(results.map(\.index) == Array(0..<40))
                for result in results {
                    let provider = result.index % 2 == 0 ? "openai-chat" : "anthropic"
                    #expect(result.provider == provider, "item \(result.index)")
                    switch result.index % 10 {
                    case 4:
                        #expect(result.error?.code == UInt32(GRPCStatus.Code.unavailable.rawValue), "item \(result.index): \(String(describing: result.error))")
                        #expect(result.error?.message.contains("provider '\(provider)'") == true)
                        #expect(result.text == RelayFaultTests.syntheticText(4), "the tokens openai-chat sent before the reset (its event 1 is the role)")
                    case 7:
                        #expect(result.error?.code == UInt32(GRPCStatus.Code.resourceExhausted.rawValue), "item \(result.index): \(String(describing: result.error))")
                        #expect(result.text.isEmpty)
                    default:
                        #expect(result.succeeded, "item \(result.index): \(String(describing: result.error))")
                        #expect(result.text == RelayFaultTests.syntheticText(3 + result.index % 5), "item \(result.index)")
                    }
                }
                #expect(server.admission.snapshot.active == 0)
            }
        }
    }
}
