import Testing
import TokenwireCore

/// A batch item's error reads as a typed gRPC status, as `TokenwireError` does.
@Suite("Item errors")
struct ItemErrorTests {
    @Test func wireCodeReadsAsATypedStatusAndPrintsItsName() {
        let error = ItemError(code: 5, message: "no provider serves model 'nope'")
        #expect(error.status == .notFound)
        #expect("\(error)" == "NOT_FOUND: no provider serves model 'nope'")
        #expect(ItemError(status: .resourceExhausted, message: "m").code == 8)
    }

    @Test func codeOutsideTheKnownOnesIsUnknown() {
        #expect(ItemError(code: 99, message: "m").status == .unknown)
    }
}
