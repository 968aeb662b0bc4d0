import Foundation
import Testing
import TokenwireCore

@testable import TokenwireServer

@Suite struct JSONDocumentCheckTests {
    static let valid = [
        #"{}"#, #"[]"#, #"{"a": 1}"#, #"{"a": [1, 2.5, -3e+2, 0, -0.0, 1E5], "b": {"c": null, "d": true, "e": false}}"#,
        #"  {"s": "x\"y\\z\/\b\f\n\r\t\u00e9\uD83D\uDE00"}  "#, #"[[[[]]], {}, "", "é😀"]"#, #"{"": ""}"#,
        SyntheticProvider.jsonDocument, "\n[1,\n2]\n", #"{"nul": "a\u0000b"}"#,
    ]
    static let scalars = [#""text""#, "12", "-0.5e-3", "true", "false", "null", #""""#]
    static let invalid = [
        #"{"a": 1,}"#, #"{"a" 1}"#, #"{a: 1}"#, #"[1 2]"#, #"{"a": tru}"#, #"{"a": 01}"#, #"{"a": 1.}"#, #"{"a": -}"#,
        #"{"a": "x\q"}"#, #"{"a": "\u12g4"}"#, "{\"a\": \"line\nbreak\"}", #"{} {}"#, #"{"a": 1}}"#, #"[1, ]"#,
        #"{"a": .5}"#, #"{"a": +1}"#, #"{"a": NaN}"#, #"{"a": 'x'}"#, "{\"a\": \"x\u{0}\"}", "[1e]",
    ]

    static func check(_ text: String, root: JSONDocumentCheck.Root = .anyValue, pieceBytes: Int? = nil, keepsText: Bool = true) -> JSONDocumentCheck {
        var check = JSONDocumentCheck(root: root, keepsText: keepsText, maxBytes: 1 << 20)
        if let pieceBytes {
            for piece in TokenEvent.text(text).splitForFrames(maxBytes: max(4, pieceBytes)) {
                if case .text(let piece) = piece { check.append(piece) }
            }
        } else {
            for character in text { check.append(String(character)) }
        }
        return check
    }

    static func parses(_ text: String) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
    }

    @Test func wellFormedDocumentsAreValidHoweverTheTextIsSplit() {
        for text in Self.valid + Self.scalars {
            #expect(Self.parses(text), "the oracle disagrees: \(text)")
            for pieces in [nil, 4, 7, 1 << 20] as [Int?] {
                #expect(Self.check(text, pieceBytes: pieces).verdict() == JSONCheck(verdict: .valid), "\(text)")
            }
            #expect(Self.check(text, keepsText: false).verdict().isValid)
        }
    }

    @Test func malformedDocumentsAreInvalidAndTheMessageSaysWhere() {
        for text in Self.invalid {
            // Foundation's parser accepts a trailing comma; RFC 8259 does not.
            if !text.contains(", ]") && !text.contains(",}") { #expect(!Self.parses(text), "the oracle disagrees: \(text)") }
            let verdict = Self.check(text).verdict()
            #expect(verdict.verdict == .invalid, "\(text): \(verdict)")
            #expect(verdict.error.contains("byte"), "\(verdict.error)")
        }
        #expect(Self.check(#"{"a": 1,}"#).verdict().error == "expected an object key (a string) at byte 8, found '}'")
    }

    @Test func everyProperPrefixOfAnObjectIsIncompleteNeverInvalid() {
        for text in Self.valid where text.trimmingCharacters(in: .whitespacesAndNewlines).first == "{" {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let characters = Array(trimmed)
            for end in 0..<characters.count {
                let verdict = Self.check(String(characters[..<end])).verdict()
                #expect(verdict.verdict == .incomplete, "\(String(characters[..<end])): \(verdict)")
            }
        }
        #expect(Self.check(#"{"a": [1, {"b": "x"#).verdict().error == "the text ends inside a string at byte 18, 3 containers still open")
    }

    @Test func aJSONObjectRequestRefusesAnyOtherDocument() {
        #expect(Self.check("[1]", root: .object).verdict().error == "the document is not a JSON object: it starts with '[' at byte 0")
        #expect(Self.check(#"  "text""#, root: .object).verdict().verdict == .invalid)
        #expect(Self.check(#" {"a": [1]}"#, root: .object).verdict().isValid)
    }

    @Test func everySnapshotIsValidJSONAndTheLastIsTheDocument() throws {
        for text in Self.valid + Self.scalars {
            var check = JSONDocumentCheck(root: .anyValue, keepsText: true, maxBytes: 1 << 20)
            var snapshots: [String] = []
            for character in text {
                check.append(String(character))
                if let snapshot = check.snapshot() { snapshots.append(snapshot) }
            }
            for snapshot in snapshots { #expect(Self.parses(snapshot), "snapshot of \(text) does not parse: \(snapshot)") }
            let last = try #require(snapshots.last)
            let lastValue = try JSONSerialization.jsonObject(with: Data(last.utf8), options: [.fragmentsAllowed]) as? NSObject
            let whole = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? NSObject
            #expect(lastValue == whole, "\(last) is not \(text)")
        }
    }

    @Test func aSnapshotShowsTheStringBeingWrittenAndHidesHalfKeysAndLiterals() {
        #expect(Self.check(#"{"name": "Lis"#).snapshot() == #"{"name": "Lis"}"#)
        #expect(Self.check(#"{"name": "a\"#).snapshot() == #"{"name": "a"}"#)
        #expect(Self.check(#"{"name": "a\u00"#).snapshot() == #"{"name": "a"}"#)
        #expect(Self.check(#"{"x": 1, "na"#).snapshot() == #"{"x": 1}"#)
        #expect(Self.check(#"{"x": 1, "name": "#).snapshot() == #"{"x": 1}"#)
        #expect(Self.check(#"{"x": 1, "y": tr"#).snapshot() == #"{"x": 1}"#)
        #expect(Self.check(#"{"x": 12"#).snapshot() == #"{"x": 12}"#)
        #expect(Self.check(#"{"x": 1.5e"#).snapshot() == #"{"x": 1.5}"#)
        #expect(Self.check(#"[1, [2, {"#).snapshot() == #"[1, [2, {}]]"#)
        #expect(Self.check("  ").snapshot() == nil)
        #expect(Self.check("tr").snapshot() == nil)
        #expect(Self.check("{,").snapshot() == nil)
    }

    @Test func theBoundsEndTheCheckWithAMessageNamingThem() {
        var long = JSONDocumentCheck(root: .anyValue, keepsText: true, maxBytes: 10)
        long.append(#"{"a": "0123456789"}"#)
        #expect(long.verdict().error.contains("--max-json-bytes"))
        #expect(long.text.count == 10)
        // Unbounded, without its text (stream delivery), it reads on.
        var unbounded = JSONDocumentCheck(root: .anyValue, keepsText: false, maxBytes: .max)
        unbounded.append(#"{"a": "0123456789"}"#)
        #expect(unbounded.verdict().isValid && unbounded.text.isEmpty)
        var deep = JSONDocumentCheck(root: .anyValue, keepsText: false, maxBytes: 1 << 20, maxDepth: 8)
        deep.append(String(repeating: "[", count: 9))
        #expect(deep.verdict().error == "the document nests deeper than 8 containers at byte 8")
    }
}
