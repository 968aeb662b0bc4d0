/// What `tokenwire-bench soak` runs, from its options.
struct SoakConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 50051
    /// The relayed model (a provider of the fake provider, dialect openai-chat).
    var model = "fake/m"
    /// Base URL of the fake provider, for its request log.
    var fakeProviderURL = "http://127.0.0.1:8080"
    /// Concurrent streams (workers).
    var streams = 1000
    /// HTTP/2 connections they share.
    var connections = 8
    var minutes = 60.0
    /// Seconds between samples of the server process.
    var sampleSeconds = 10.0
    /// The first part of the run whose samples do not count for the RSS check.
    var warmupFraction = 0.1
    /// The most RSS may grow over its value at the end of the warm-up (0.1: 10%).
    var rssTolerance = 0.1
    /// Seconds between connection resets (0: none).
    var resetSeconds = 30.0
    /// Tokens per second of each upstream stream.
    var rate = 5.0
    /// Seconds over which the streams start.
    var ramp = 10.0
    /// Each call's deadline (grpc-timeout), seconds.
    var callDeadline = 120
    /// Seconds the calls in flight at the end may take to end.
    var grace = 90.0
    var seed: UInt64 = 1
    var mix = SoakMix()
    /// The server's process id, for /proc.
    var serverPID: Int32 = 0
    /// The fake provider's process id, for its RSS in the progress lines (0: not shown).
    var fakeProviderPID: Int32 = 0
}
