import ArgumentParser
import TokenwireServer

/// `tokenwire serve` options for admission, batch concurrency and per-stream buffering.
struct LimitOptions: ParsableArguments {
    @Option(help: "Provider calls the server runs at once (Generate, Complete, running batch items); past it, new calls get RESOURCE_EXHAUSTED.")
    var maxActiveCalls = CallLimits().maxActiveCalls

    @Option(help: "Items of one GenerateBatch running at once when the request's max_concurrency is 0.")
    var batchDefaultConcurrency = CallLimits().batchDefaultConcurrency

    @Option(help: "The most items of one GenerateBatch running at once, whatever the request asks.")
    var batchMaxConcurrency = CallLimits().batchMaxConcurrency

    @Option(help: "The longest JSON answer (bytes) a call asking for buffered or snapshot structured output may hold; a longer one is delivered as it comes, its Finish saying INVALID.")
    var maxJSONBytes = CallLimits().maxJSONBytes

    @Option(help: "Bytes queued per response stream before its producer waits for the client.")
    var outboundHighWatermark = 64 * 1024

    @Option(help: "Bytes per response stream at or below which a waiting producer resumes.")
    var outboundLowWatermark = 16 * 1024

    func apply(to configuration: inout ServerConfiguration) throws {
        guard maxActiveCalls >= 1 else { throw ValidationError("--max-active-calls must be at least 1") }
        guard batchDefaultConcurrency >= 1, batchMaxConcurrency >= 1 else {
            throw ValidationError("--batch-default-concurrency and --batch-max-concurrency must be at least 1")
        }
        guard outboundLowWatermark >= 0, outboundHighWatermark > outboundLowWatermark else {
            throw ValidationError("--outbound-high-watermark must be above --outbound-low-watermark (and that at least 0)")
        }
        guard maxJSONBytes >= 1 else { throw ValidationError("--max-json-bytes must be at least 1") }
        configuration.limits.maxJSONBytes = maxJSONBytes
        configuration.limits.maxActiveCalls = maxActiveCalls
        configuration.limits.batchDefaultConcurrency = batchDefaultConcurrency
        configuration.limits.batchMaxConcurrency = batchMaxConcurrency
        configuration.http2.outboundHighWatermark = outboundHighWatermark
        configuration.http2.outboundLowWatermark = outboundLowWatermark
    }
}
