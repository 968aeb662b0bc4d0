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
            Each input line: {"model": ..., "prompt": ... | "messages": [{"role", "content"}], "max_tokens": ...}.
            Each output line: {"index", "model", "text", "tool_calls", "finish": {"reason", "usage"}} or
            {"index", "model", "error": {"code", "status", "message"}}, in the order items finish.
            With --out, items already in the file are skipped, so an interrupted run can be resumed.
            Exit status: 0 every item finished; 1 some items failed (their errors are in the output);
            2 a call failed (rerun with the same --out to resume); 64 the input is not usable.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The requests, one JSON object per line.")
    var input: String

    @Option(help: "Append results to this file instead of stdout, skipping items already in it.")
    var out: String?

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
        let prompts: BatchPromptFile
        let output: BatchOutputFile
        do {
            prompts = try BatchPromptFile(path: input, defaults: .init(model: model, maxTokens: maxTokens))
            output = try out.map(BatchOutputFile.init(path:)) ?? BatchOutputFile()
        } catch let error as BatchInputError {
            printError("tokenwire batch: \(error.message)")
            throw ExitCode(64)
        }
        let pending = prompts.requests.indices.filter { !output.doneIndices.contains($0) }
        var progress = BatchProgress(total: prompts.requests.count, skipped: prompts.requests.count - pending.count)
        var status = GRPCStatus.ok
        do {
            try await TokenwireClient.withConnection(
                host: connection.host, port: connection.port, configuration: try connection.clientConfiguration()
            ) { client in
                for call in Self.calls(of: pending, requests: prompts.requests, itemsPerCall: itemsPerCall) {
                    try await runCall(call, requests: prompts.requests, client: client, output: output, progress: &progress)
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
        _ call: [Int], requests: [GenerateRequest], client: TokenwireClient, output: BatchOutputFile,
        progress: inout BatchProgress
    ) async throws {
        let request = BatchRequest(items: call.map { requests[$0] }, maxConcurrency: concurrency)
        var assembler = BatchResultAssembler()
        let frames = client.generateBatchFrames(request, deadline: deadline.map { .milliseconds(Int($0 * 1000)) })
        for try await frame in frames {
            switch frame.event {
            case .text, .reasoning, .toolCall: progress.countToken()
            default: break
            }
            guard var result = try assembler.add(frame) else { continue }
            result.index = call[result.index]
            try output.write(line: BatchResultJSON.encode(result))
            progress.itemEnded(succeeded: result.succeeded)
        }
        try assembler.finish()
    }

    /// Splits `pending` into calls of at most `itemsPerCall` items and about `maxCallBytes`.
    static func calls(of pending: [Int], requests: [GenerateRequest], itemsPerCall: Int) -> [[Int]] {
        var calls: [[Int]] = []
        var current: [Int] = []
        var bytes = 0
        for index in pending {
            let request = requests[index]
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
