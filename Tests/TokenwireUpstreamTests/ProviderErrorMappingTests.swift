import Testing
import TokenwireCore
import TokenwireUpstream

@Suite("Provider error mapping")
struct ProviderErrorMappingTests {
    @Test(arguments: [
        (429, GRPCStatus.Code.resourceExhausted), (500, .unavailable), (503, .unavailable), (529, .unavailable),
        (400, .invalidArgument), (422, .invalidArgument), (401, .unauthenticated), (403, .permissionDenied),
        (404, .notFound), (418, .internal), (408, .deadlineExceeded), (504, .deadlineExceeded), (502, .unavailable),
    ])
    func httpStatusesAreMapped(status: Int, expected: GRPCStatus.Code) {
        #expect(ProviderErrorMapping.code(forHTTPStatus: status) == expected)
    }

    @Test func firstMatchingIdentifierDecidesAndStatusIsTheFallback() {
        #expect(ProviderErrorMapping.code(forIdentifiers: ["rate_limit_exceeded", "tokens"]) == .resourceExhausted)
        #expect(ProviderErrorMapping.code(forIdentifiers: ["RateLimitError"]) == .resourceExhausted)
        #expect(ProviderErrorMapping.code(forIdentifiers: ["UNAVAILABLE"]) == .unavailable)
        #expect(ProviderErrorMapping.code(forIdentifiers: ["ERR_SOMETHING"], httpStatus: 404) == .notFound)
        #expect(ProviderErrorMapping.code(forIdentifiers: ["", "ERR_SOMETHING"]) == .internal)
    }
}
