import Testing
import TokenwireCore
@testable import TokenwireServer

/// How `Complete` assembles tool calls from the fragments real providers send.
@Suite("Complete's tool-call assembly")
struct CompletionCollectorTests {
    func assemble(_ deltas: [ToolCallDelta]) async throws -> [ToolCall] {
        let collector = CompletionCollector(model: "m")
        for delta in deltas { try await collector.send(.toolCall(delta)) }
        return collector.result().toolCalls
    }

    @Test func fragmentsRepeatingTheirIdAreJoinedWithoutConcatenatingIds() async throws {
        let calls = try await assemble([
            ToolCallDelta(index: 0, id: "call_a", name: "get", arguments: #"{"x""#),
            ToolCallDelta(index: 0, id: "call_a", arguments: #": 1}"#),
        ])
        #expect(calls == [ToolCall(id: "call_a", name: "get", arguments: #"{"x": 1}"#)])
    }

    @Test func indexesStartingAtOneAndParallelCallsStayApart() async throws {
        let calls = try await assemble([
            ToolCallDelta(index: 1, id: "a", name: "f", arguments: "{"),
            ToolCallDelta(index: 2, id: "b", name: "g", arguments: "{}"),
            ToolCallDelta(index: 1, arguments: "}"),
        ])
        #expect(calls.map(\.id) == ["a", "b"])
        #expect(calls.map(\.arguments) == ["{}", "{}"])
        #expect(calls.allSatisfy { $0.argumentsError.isEmpty })
    }

    @Test func aNewIdAtTheSameIndexStartsANewCall() async throws {
        let calls = try await assemble([
            ToolCallDelta(index: 0, id: "a", name: "f", arguments: "{}"),
            ToolCallDelta(index: 0, id: "b", name: "g", arguments: "{}"),
        ])
        #expect(calls.map(\.name) == ["f", "g"])
    }

    @Test func callsWithoutIdsGetStableIds() async throws {
        let calls = try await assemble([
            ToolCallDelta(index: 0, name: "f", arguments: "{}"),
            ToolCallDelta(index: 1, name: "g", arguments: "{}"),
        ])
        #expect(calls.map(\.id) == ["call_0", "call_1"])
    }

    @Test func truncatedArgumentsAreReportedAndKeptAsSent() async throws {
        let calls = try await assemble([ToolCallDelta(index: 0, id: "a", name: "f", arguments: #"{"city": "Edinb"#)])
        #expect(calls.first?.arguments == #"{"city": "Edinb"#, "never replaced by {}")
        #expect(calls.first?.argumentsError.hasPrefix("truncated JSON: the arguments end inside a string") == true)
    }

    @Test func invalidAndNonObjectArgumentsAreReported() async throws {
        let calls = try await assemble([
            ToolCallDelta(index: 0, id: "a", name: "f", arguments: "{city: 1}"),
            ToolCallDelta(index: 1, id: "b", name: "g", arguments: "[1, 2]"),
            ToolCallDelta(index: 2, id: "c", name: "h", arguments: ""),
        ])
        #expect(calls[0].argumentsError.hasPrefix("invalid JSON"))
        #expect(calls[1].argumentsError == "not a JSON object: the arguments are a JSON array")
        #expect(calls[2].argumentsError.hasPrefix("no arguments"))
    }
}
