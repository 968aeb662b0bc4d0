import TokenwireCore

extension TokenStreamService {
    /// `GenerateBatch`: runs the items (at most the batch's concurrency at once) and
    /// streams every item's frames, tagged with its index, on the one response.
    func generateBatch(_ request: BatchRequest, writer: GRPCResponseWriter) async throws {
        let call = BatchCall(
            request: request,
            concurrency: limits.batchConcurrency(requested: request.maxConcurrency, items: request.items.count),
            providers: providers, admission: admission, sequencer: BatchFrameSequencer(writer: writer), maxJSONBytes: limits.maxJSONBytes)
        try await call.run()
    }
}
