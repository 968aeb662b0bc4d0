import Testing
import TokenwireCore

@Suite("Long events become several frames")
struct TokenEventSplitTests {
    @Test(arguments: ["a", "é", "☺", "😈"])
    func longTextIsCutBetweenScalarsIntoPiecesThatJoinBack(scalar: String) {
        let text = String(repeating: scalar, count: 1000) + "end"
        let pieces = TokenEvent.text(text).splitForFrames(maxBytes: 100)
        var joined = ""
        for piece in pieces {
            guard case .text(let part) = piece else {
                Issue.record("not text: \(piece)")
                return
            }
            #expect(part.utf8.count <= 100)
            #expect(!part.contains("\u{FFFD}"))
            joined += part
        }
        #expect(joined == text)
        // Backing up to a scalar boundary costs at most 3 bytes a piece.
        #expect(pieces.count <= text.utf8.count / 97 + 1)
    }

    @Test func textAtTheLimitStaysOneEvent() {
        let event = TokenEvent.reasoning(String(repeating: "x", count: 100))
        #expect(event.splitForFrames(maxBytes: 100) == [event])
    }

    @Test func longToolArgumentsBecomeFragmentsOfTheSameCall() {
        let arguments = "{\"q\":\"" + String(repeating: "x", count: 250) + "\"}"
        let pieces = TokenEvent.toolCall(ToolCallDelta(index: 3, id: "call_1", name: "lookup", arguments: arguments))
            .splitForFrames(maxBytes: 100)
        #expect(pieces.count == 3)
        #expect(pieces.first == .toolCall(ToolCallDelta(index: 3, id: "call_1", name: "lookup", arguments: String(arguments.prefix(100)))))
        var joined = ""
        for case .toolCall(let delta) in pieces {
            #expect(delta.index == 3)
            joined += delta.arguments
        }
        #expect(joined == arguments)
        #expect(pieces.dropFirst().allSatisfy {
            if case .toolCall(let delta) = $0 { return delta.id.isEmpty && delta.name.isEmpty }
            return false
        })
    }

    @Test func eventsWithoutTextAreUnchanged() {
        #expect(TokenEvent.heartbeat.splitForFrames(maxBytes: 4) == [.heartbeat])
        #expect(TokenEvent.finish(Finish(reason: "stop")).splitForFrames(maxBytes: 4) == [.finish(Finish(reason: "stop"))])
    }
}
