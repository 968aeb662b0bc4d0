import ArgumentParser
import Foundation
import TokenwireClient
import TokenwireCore

/// `tokenwire stream`: stream one completion to the terminal.
struct StreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream", abstract: "Stream a completion: text live on stdout, a summary on stderr.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Model to call, as provider/model.")
    var model = "synthetic/paced"

    @Option(parsing: .unconditional, help: "Most tokens to generate (0: the provider's default).", transform: TokenCount.parse)
    var maxTokens: UInt32 = 0

    @Option(help: "Sampling temperature (default: the provider's).")
    var temperature: Float?

    @Option(help: "System prompt.")
    var system: String?

    @Option(help: "Seconds the whole call may take.")
    var deadline: Double?

    @Flag(help: "Print every frame as one JSON line instead of the text (StreamStart's shows the resume token).")
    var frames = false

    @Option(help: "Resume the stream this token names (from StreamStart) instead of starting one; the prompt and model are ignored.")
    var resume: String?

    @Option(help: "With --resume: the last seq already seen; frames after it are streamed.")
    var after: UInt64 = 0

    @Flag(help: "Ask for one JSON object (structured output); see --json-delivery.")
    var json = false

    @Option(help: "Ask for JSON matching the JSON Schema in this file (structured output); see --json-delivery.")
    var jsonSchema: String?

    @Option(help: "With --json or --json-schema: stream (text as it comes), buffered (the whole document once it is complete) or snapshots (the document so far, closed into valid JSON, one line each time it grows).")
    var jsonDelivery: JSONDelivery = .buffered

    enum JSONDelivery: String, ExpressibleByArgument, CaseIterable {
        case stream, buffered, snapshots

        var delivery: ResponseFormat.Delivery {
            switch self {
            case .stream: .stream
            case .buffered: .buffered
            case .snapshots: .snapshots
            }
        }
    }

    @Argument(help: "The prompt.")
    var prompt = "Tell me about token streaming."

    func run() async throws {
        var messages = [ChatMessage]()
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: prompt))
        var request = GenerateRequest(model: model, messages: messages, maxTokens: maxTokens, temperature: temperature)
        if let jsonSchema {
            let schema: String
            do {
                schema = try String(contentsOfFile: jsonSchema, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read the JSON Schema file \(jsonSchema): \(error.localizedDescription)")
            }
            let name = ((jsonSchema as NSString).lastPathComponent as NSString).deletingPathExtension
            request.responseFormat = .jsonSchema(schema, name: name, delivery: jsonDelivery.delivery)
        } else if json {
            request.responseFormat = .jsonObject(delivery: jsonDelivery.delivery)
        }
        let showsSnapshots = request.responseFormat != nil && jsonDelivery == .snapshots
        let printer = StreamPrinter(mode: frames ? .frames : showsSnapshots ? .snapshots : .text)
        if let resume {
            request = GenerateRequest(model: "", resumeToken: resume, resumeAfterSeq: after)
            printer.resumeToken = resume
        }
        let status = try await TokenwireClient.withConnection(
            host: connection.host, port: connection.port, configuration: try connection.clientConfiguration()
        ) { client in
            await printer.consume(client.generate(request, deadline: deadline.map { .milliseconds(Int($0 * 1000)) }))
        }
        printer.printSummary(status: status)
        if status.code != .ok { throw ExitCode(1) }
    }
}
