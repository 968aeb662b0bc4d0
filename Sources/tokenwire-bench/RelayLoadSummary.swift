/// The one-line summary `client.py` prints, from a `relay-load` result object.
struct RelayLoadSummary {
    private let result: BenchJSON

    init(_ result: BenchJSON) {
        self.result = result
    }

    var line: String {
        let ttft = result["ttft_ms"]
        let latency = result["token_latency_ms"]
        let errors = result["errors"]
        let errorCount = errors?.members.reduce(0) { total, member in total + (member.1.intValue ?? 0) } ?? 0
        let watched = (result["watch"]?.members ?? []).map { name, value in
            "\(name):cpu=\(Self.text(value["cpu_pct"]))%,rss=\(Self.text(value["rss_mb_max"]))MB"
        }
        let tokensPerSecond = result["tokens_per_s"]?.doubleValue ?? 0
        return [
            "\(Self.text(result["name"])) \(Self.text(result["label"])) C=\(Self.text(result["concurrency"]))",
            "N=\(Self.text(result["max_tokens"])) ok=\(Self.text(result["requests_ok"]))",
            "err=\(errorCount)\(errorCount > 0 ? Self.text(errors) : "") tok/s=\(Int(tokensPerSecond.rounded()))",
            "ttft_ms p50/p90/p99=\(Self.text(ttft?["p50"]))/\(Self.text(ttft?["p90"]))/\(Self.text(ttft?["p99"]))",
            "tok_lat_ms p50/p90/p99=\(Self.text(latency?["p50"]))/\(Self.text(latency?["p90"]))/\(Self.text(latency?["p99"]))",
            "unstamped=\(Self.text(result["tokens_unstamped"])) conns=\(Self.text(result["connections"]))",
            "client_cpu=\(Self.text(result["client_cpu_pct"]))%",
        ].joined(separator: " ") + (watched.isEmpty ? "" : " " + watched.joined(separator: " "))
    }

    /// A value as Python's f-string shows it: strings bare, absent values as `None`.
    private static func text(_ value: BenchJSON?) -> String {
        switch value {
        case .none, .null?: "None"
        case .string(let string)?: string
        case let other?: other.serialized
        }
    }
}
