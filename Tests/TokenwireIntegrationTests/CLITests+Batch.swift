import Foundation
import Testing

extension CLITests {
    /// Writes `lines` (each followed by a newline) to a new temporary file; returns its path.
    func temporaryFile(_ name: String, lines: [String], trailing: String = "") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokenwire-\(UUID().uuidString)-\(name)").path
        try (lines.map { $0 + "\n" }.joined() + trailing).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Each output line as a JSON object.
    func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    static let batchInput = [
        #"{"model": "synthetic/flood", "prompt": "a", "max_tokens": 3}"#,
        #"{"model": "nope/none", "prompt": "b"}"#,
        #"{"messages": [{"role": "user", "content": "c"}], "max_tokens": 2}"#,
        "",
        #"{"prompt": "d", "system": "be brief", "max_tokens": 1}"#,
        #"{"model": "synthetic/flood", "prompt": "e", "max_tokens": 4}"#,
    ]

    @Test func batchWritesOneJSONLinePerItemAndAnErrorLineForAFailedItem() async throws {
        let input = try temporaryFile("prompts.jsonl", lines: Self.batchInput)
        defer { try? FileManager.default.removeItem(atPath: input) }
        try await withTestServer { _, port in
            let output = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--model", "synthetic/flood", "--concurrency", "2"])
            #expect(output.status == 1, "exit 1: an item failed\n\(output.stderr)")
            let lines = try jsonLines(output.stdout)
            #expect(lines.count == 5)
            let byIndex = Dictionary(uniqueKeysWithValues: lines.map { ($0["index"] as? Int ?? -1, $0) })
            #expect(Set(byIndex.keys) == [0, 1, 2, 3, 4])
            #expect(byIndex[0]?["text"] as? String == "the quick brown ")
            #expect(byIndex[2]?["text"] as? String == "the quick ")
            #expect(byIndex[3]?["text"] as? String == "the ")
            #expect(byIndex[4]?["text"] as? String == "the quick brown fox ")
            let finish = byIndex[4]?["finish"] as? [String: Any]
            #expect(finish?["reason"] as? String == "length")
            #expect((finish?["usage"] as? [String: Any])?["output_tokens"] as? Int == 4)
            #expect(byIndex[4]?["tool_calls"] as? [Any] != nil)
            let error = byIndex[1]?["error"] as? [String: Any]
            #expect(error?["status"] as? String == "NOT_FOUND")
            #expect(error?["code"] as? Int == 5)
            #expect((error?["message"] as? String)?.contains("unknown model 'nope/none'") == true)
            #expect(output.stderr.contains("batch: 5 items (4 ok, 1 failed, 0 already done) of 5"))
            #expect(output.stderr.contains("status=OK"))
        }
    }

    @Test func batchWithOutSkipsItemsAlreadyInTheFileAndDropsACutOffLastLine() async throws {
        let input = try temporaryFile("prompts.jsonl", lines: Self.batchInput)
        let earlier = [#"{"index":0,"model":"synthetic/flood","text":"from before"}"#, #"{"index":3,"model":"synthetic/flood","text":"from before"}"#]
        let out = try temporaryFile("results.jsonl", lines: earlier, trailing: #"{"index":1,"mod"#)
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: out)
        }
        try await withTestServer { _, port in
            let output = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--model", "synthetic/flood", "--out", out])
            #expect(output.status == 1, "\(output.stderr)")
            #expect(output.stdout.isEmpty)
            #expect(output.stderr.contains("batch: 3 items (2 ok, 1 failed, 2 already done) of 5"))
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(text.hasPrefix(earlier.map { $0 + "\n" }.joined()))
            let lines = try jsonLines(text)
            #expect(lines.compactMap { $0["index"] as? Int }.sorted() == [0, 1, 2, 3, 4])
            #expect(lines.filter { $0["text"] as? String == "from before" }.count == 2)

            // A second run finds every item done and sends nothing.
            let again = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--out", out])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("batch: 0 items (0 ok, 0 failed, 5 already done) of 5"))
            #expect(try String(contentsOfFile: out, encoding: .utf8) == text)
        }
    }

    @Test func batchWithStrictRefusesAnInputLineWithoutPromptOrMessagesNamingTheLine() async throws {
        let input = try temporaryFile("bad.jsonl", lines: [#"{"prompt": "fine"}"#, #"{"model": "synthetic/flood"}"#])
        defer { try? FileManager.default.removeItem(atPath: input) }
        let output = try await runProcess(binary, ["batch", input, "--port", "1", "--strict"])
        #expect(output.status == 64)
        #expect(output.stderr.contains("line 2 has neither 'prompt' nor 'messages'"))
    }

    /// Without --strict, a bad line is one failed item (INVALID_ARGUMENT, naming its line);
    /// every line's number and the caller's own id come back with its result.
    @Test func aBadLineFailsItsOwnItemAndEveryResultCarriesItsLineAndId() async throws {
        let input = try temporaryFile(
            "mixed.jsonl",
            lines: [
                #"{"id": "first", "prompt": "a", "max_tokens": 2}"#, "", #"{"id": 17, "promt": "typo"}"#,
                #"{"prompt": "c", "max_tokens": 1}"#, #"{"id": true, "prompt": "d"}"#,
            ])
        defer { try? FileManager.default.removeItem(atPath: input) }
        try await withTestServer { _, port in
            let output = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--model", "synthetic/flood"])
            #expect(output.status == 1, "\(output.stderr)")
            let byIndex = Dictionary(uniqueKeysWithValues: try jsonLines(output.stdout).map { ($0["index"] as? Int ?? -1, $0) })
            #expect(Set(byIndex.keys) == [0, 1, 2, 3])
            #expect(byIndex[0]?["id"] as? String == "first" && byIndex[0]?["line"] as? Int == 1 && byIndex[0]?["text"] as? String == "the quick ")
            let typo = byIndex[1]?["error"] as? [String: Any]
            #expect(byIndex[1]?["id"] as? String == "17" && byIndex[1]?["line"] as? Int == 3)
            #expect(typo?["status"] as? String == "INVALID_ARGUMENT" && (typo?["message"] as? String)?.contains("line 3 has an unknown key 'promt'") == true)
            #expect(byIndex[2]?["id"] == nil && byIndex[2]?["line"] as? Int == 4 && byIndex[2]?["text"] as? String == "the ")
            #expect(((byIndex[3]?["error"] as? [String: Any])?["message"] as? String)?.contains("line 5: id must be a string or a number") == true)
        }
    }

    /// --retry-failed runs again the items whose last line in --out is an error, and only
    /// those; the retry's line is appended and is the one that counts.
    @Test func retryFailedRunsOnlyTheItemsWhoseLastLineIsAnError() async throws {
        let input = try temporaryFile("prompts.jsonl", lines: [#"{"prompt": "a", "max_tokens": 1}"#, #"{"prompt": "b", "max_tokens": 2}"#, #"{"prompt": "c", "max_tokens": 3}"#])
        let earlier = [
            #"{"index":0,"line":1,"model":"synthetic/flood","text":"the "}"#,
            #"{"index":1,"line":2,"model":"synthetic/flood","error":{"code":14,"status":"UNAVAILABLE","message":"earlier"}}"#,
            #"{"index":2,"line":3,"model":"synthetic/flood","error":{"code":14,"status":"UNAVAILABLE","message":"earlier"}}"#,
            #"{"index":2,"line":3,"model":"synthetic/flood","text":"the quick brown "}"#,
        ]
        let out = try temporaryFile("results.jsonl", lines: earlier)
        defer {
            try? FileManager.default.removeItem(atPath: input)
            try? FileManager.default.removeItem(atPath: out)
        }
        try await withTestServer { _, port in
            let skip = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--model", "synthetic/flood", "--out", out])
            #expect(skip.status == 0 && skip.stderr.contains("0 items (0 ok, 0 failed, 3 already done) of 3"), "\(skip.stderr)")
            let retry = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--model", "synthetic/flood", "--out", out, "--retry-failed"])
            #expect(retry.status == 0 && retry.stderr.contains("1 items (1 ok, 0 failed, 2 already done) of 3"), "\(retry.stderr)")
            let lines = try jsonLines(try String(contentsOfFile: out, encoding: .utf8))
            #expect(lines.count == 5)
            #expect(lines.last?["index"] as? Int == 1 && lines.last?["text"] as? String == "the quick ")
            let refused = try await runProcess(binary, ["batch", input, "--port", "\(port)", "--retry-failed"])
            #expect(refused.status != 0 && refused.stderr.contains("--retry-failed needs --out"), "\(refused.stderr)")
        }
    }

    /// A typo is named as an unknown key, a negative max_tokens as out of range, and a
    /// line that is not JSON as such: each with its line.
    @Test(arguments: [
        (#"{"promt": "hi"}"#, "line 1 has an unknown key 'promt' (known: id, max_tokens, messages, metadata, model, prompt, system, temperature)"),
        (#"{"prompt": "hi", "max_tokens": -1}"#, "line 1: max_tokens must be 0 (the provider's default) to 4294967295, not -1"),
        (#"{"prompt": "hi""#, "line 1 is not valid JSON"),
        (#"["prompt"]"#, "line 1 is not a JSON object"),
    ])
    func batchNamesWhatIsWrongWithAnInputLine(line: String, says: String) async throws {
        let input = try temporaryFile("bad.jsonl", lines: [line])
        defer { try? FileManager.default.removeItem(atPath: input) }
        let output = try await runProcess(binary, ["batch", input, "--port", "1", "--strict"])
        #expect(output.status == 64)
        #expect(output.stderr.contains(says), "\(output.stderr)")
    }
}
