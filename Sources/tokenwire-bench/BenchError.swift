/// Why a benchmark run could not produce a number it can vouch for.
struct BenchError: Error, CustomStringConvertible {
    /// What kind of failure this is; a struct around a private enum so kinds can be added.
    struct Code: Hashable, CustomStringConvertible {
        private enum Kind: String { case verificationFailed, dialectFailed, badArgument, connectFailed }
        private let kind: Kind

        /// The benchmark counted something other than what the workload holds.
        static let verificationFailed = Code(kind: .verificationFailed)
        /// A dialect threw on a stream that is well formed.
        static let dialectFailed = Code(kind: .dialectFailed)
        /// An option's value cannot be used.
        static let badArgument = Code(kind: .badArgument)
        /// The load client could not reach the server.
        static let connectFailed = Code(kind: .connectFailed)

        var description: String { kind.rawValue }
    }

    var code: Code
    /// What went wrong, for the person running the benchmark.
    var message: String
    /// The error that caused this one, if any.
    var cause: (any Error)?

    init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    var description: String {
        "\(code): \(message)" + (cause.map { " (\($0))" } ?? "")
    }
}
