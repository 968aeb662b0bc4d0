// A client of Tokenwire that imports only `TokenwireClient`: the messages (`GenerateRequest`,
// `TokenFrame`, `ResponseFormat`, ...) come with it. Built with the package (target
// `tokenwire-client-example`) and run by the tests against a server they start.
//
//     swift run tokenwire-client-example --port 50051
import TokenwireClient

struct City: Decodable {
    var city: String
    var population: Int
}

@main
struct ClientExample {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let port = arguments.firstIndex(of: "--port").flatMap { Int(arguments[$0 + 1]) } ?? 50051
        try await TokenwireClient.withConnection(host: "127.0.0.1", port: port) { client in
            // The words only, with a header for this call.
            var text = ""
            let words = client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 4), metadata: [("x-request-id", "example-1")])
            for try await piece in words.text { text += piece }
            print("text: \(text)")
            // The response's headers and trailers.
            print("grpc-status: \(words.responseMetadata.value(of: "grpc-status") ?? "-")")

            // Every frame, with a deadline.
            var frames = 0
            var finish: Finish?
            for try await frame in client.generate(GenerateRequest(model: "synthetic/flood", maxTokens: 3), deadline: .seconds(30)) {
                frames += 1
                if case .finish(let last) = frame.event { finish = last }
            }
            print("frames: \(frames) finish: \(finish?.reason ?? "-")")

            // Structured output, decoded.
            let city = try await client.generateJSON(GenerateRequest(model: "synthetic/json"), as: City.self)
            print("json: \(city.city) \(city.population)")

            // A batch: one item fails, the rest go on; its error is typed.
            let batch = BatchRequest(items: [GenerateRequest(model: "synthetic/flood", maxTokens: 2), GenerateRequest(model: "nope/none")])
            for result in try await client.generateBatch(batch).collect() {
                print("item \(result.index): \(result.error.map { "\($0.status)" } ?? result.text)")
            }

            // A failed call: the status, typed.
            do {
                _ = try await client.complete(GenerateRequest(model: "nope/none"))
            } catch let error as TokenwireError {
                print("error: \(error.code)")
            }
            print("health: \(try await client.checkHealth())")
        }
    }
}
