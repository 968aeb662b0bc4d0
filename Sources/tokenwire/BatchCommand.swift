import ArgumentParser
import TokenwireClient
import TokenwireCore

/// `tokenwire batch`: run every request of a JSON Lines file through `GenerateBatch`,
/// writing one JSON line per finished item; resumable with `--out`.
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run a JSON Lines file of requests with GenerateBatch: one JSON line per finished item.",
        discussion: """
            Each input line is one JSON object:
              "prompt" (and optionally "system"), or "messages": [{"role", "content"}]
              "model", "max_tokens" (else --model, --max-tokens), "temperature", "metadata": {"k": "v"}
              "id": your own name for the item (a string or a number), copied to its result
            Each output line, in the order items finish:
              {"index", "line", "id", "model", "text", "tool_calls", "finish": {"reason", "usage"}}
              {"index", "line", "id", "model", "error": {"code", "status", "message"}}
            index counts the input's non-blank lines from 0; line is the line number in the file.
            A line that is not a usable request is an item that failed (INVALID_ARGUMENT, naming
            the line) and the others run; --strict refuses the whole file instead.
            With --out, items already in the file are skipped, so an interrupted run can be
            resumed; --retry-failed runs again the items whose last line there is an error.
            Exit status: 0 every item finished; 1 some items failed (their errors are in the output);
            2 a call failed (rerun with the same --out to resume); 64 the input is not usable.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The requests, one JSON object per line.")
    var input: String

    @Option(help: "Append results to this file instead of stdout, skipping items already in it.")
    var out: String?

    @Flag(help: "With --out: run again the items whose last line in the file is an error.")
    var retryFailed = false

    @Flag(help: "Refuse the whole input when a line is not a usable request (exit 64), instead of failing that item.")
    var strict = false

    @Option(help: "Items running at once (0: the server's default).")
    var concurrency: UInt32 = 0

    @Option(help: "Model for lines that name none.")
    var model = "synthetic/paced"

    @Option(parsing: .unconditional, help: "max_tokens for lines that give none (0: the provider's default).", transform: TokenCount.parse)
    var maxTokens: UInt32 = 0

    @Option(help: "Most items sent in one GenerateBatch call (a call also stays under 3 MiB).")
    var itemsPerCall = 1000

    @Option(help: "Seconds each GenerateBatch call may take.")
    var deadline: Double?

    /// Keeps each request message well under the server's 4 MiB default receive limit.
    static let maxCallBytes = 3 * 1024 * 1024

    func run() async throws {
        guard itemsPerCall > 0 else { throw ValidationError("--items-per-call must be at least 1") }
        if retryFailed, out == nil { throw ValidationError("--retry-failed needs --out: the file whose failed items to run again") }
        let prompts: BatchPromptFile
        let output: BatchOutputFile
        do {
            prompts = try BatchPromptFile(path: input, defaults: .init(model: model, maxTokens: maxTokens), strict: strict)
            output = try out.map(BatchOutputFile.init(path:)) ?? BatchOutputFile()
        } catch let error as BatchInputError {
            printError("tokenwire batch: \(error.message)")
            throw ExitCode(64)
        }
        let items = prompts.items
        let toRun = items.indices.filter { index in
            !output.doneIndices.contains(index) || (retryFailed && output.failedIndices.contains(index))
        }
        var progress = BatchProgress(total: items.count, skipped: items.count - toRun.count)
        // Lines that are no request fail here, without a call.
        var pending: [Int] = []
        do {
            for index in toRun {
                switch items[index].request {
                case .success: pending.append(index)
                case .failure(let problem):
                    let result = BatchItemResult(
                        index: index, model: "", error: ItemError(status: .invalidArgument, message: problem.message))
                    try output.write(line: BatchResultJSON.encode(result, line: items[index].line, id: items[index].id))
                    progress.itemEnded(succeeded: false)
                }
            }
        } catch {
            printError("tokenwire batch: cannot write a result: \(error)")
            throw ExitCode(2)
        }
        let requests = items.map { try? $0.request.get() }
        var status = GRPCStatus.ok
        do {
            try await TokenwireClient.withConnection(
                host: connection.host, port: connection.port, configuration: try connection.clientConfiguration()
            ) { client in
                for call in Self.calls(of: pending, requests: requests, itemsPerCall: itemsPerCall) {
                    try await runCall(call, items: items, client: client, output: output, progress: &progress)
                }
            }
        } catch let error as TokenwireError {
            status = error.status
        } catch {
            status = GRPCStatus(code: .unknown, message: "\(error)")
        }
        progress.finish(status: "\(status)")
        if status.code != .ok {
            if let out { printError("tokenwire batch: run the same command again to resume; \(out) keeps the finished items") }
            throw ExitCode(2)
        }
        if progress.failed > 0 { throw ExitCode(1) }
    }

    /// One `GenerateBatch` call for the items `call` (indices into the input).
    private func runCall(
        _ call: [Int], items: [BatchPromptFile.Item], client: TokenwireClient, output: BatchOutputFile,
        progress: inout BatchProgress
    ) async throws {
        let request = BatchRequest(items: call.compactMap { try? items[$0].request.get() }, maxConcurrency: concurrency)
        var assembler = BatchResultAssembler()
        let frames = client.generateBatchFrames(request, deadline: deadline.map { .milliseconds(Int($0 * 1000)) })
        for try await frame in frames {
            switch frame.event {
            case .text, .reasoning, .toolCall: progress.countToken()
            default: break
            }
            guard var result = try assembler.add(frame) else { continue }
            result.index = call[result.index]
            try output.write(line: BatchResultJSON.encode(result, line: items[result.index].line, id: items[result.index].id))
            progress.itemEnded(succeeded: result.succeeded)
        }
        try assembler.finish()
    }

    /// Splits `pending` into calls of at most `itemsPerCall` items and about `maxCallBytes`.
    static func calls(of pending: [Int], requests: [GenerateRequest?], itemsPerCall: Int) -> [[Int]] {
        var calls: [[Int]] = []
        var current: [Int] = []
        var bytes = 0
        for index in pending {
            guard let request = requests[index] else { continue }
            let size = request.model.utf8.count + 32 + request.messages.reduce(0) { $0 + $1.content.utf8.count + $1.role.utf8.count + 8 }
                + request.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 }
            if !current.isEmpty, current.count == itemsPerCall || bytes + size > maxCallBytes {
                calls.append(current)
                current = []
                bytes = 0
            }
            current.append(index)
            bytes += size
        }
        if !current.isEmpty { calls.append(current) }
        return calls
    }
}
