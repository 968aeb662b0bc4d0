public import TokenwireCore

extension TokenwireClient {
    /// Runs many completions in one `GenerateBatch` call.
    ///
    /// ```swift
    /// for try await item in client.generateBatch(BatchRequest(items: requests, maxConcurrency: 32)) {
    ///     print(item.index, item.error?.message ?? item.text)
    /// }
    /// let all = try await client.generateBatch(batch).collect()  // in index order
    /// ```
    /// - Parameters:
    ///   - request: the items, and how many may run at once (0: the server's default).
    ///   - deadline: how long the whole batch may take (sent as `grpc-timeout`).
    /// - Returns: each item's result as it finishes; an item that failed carries its
    ///   `ItemError` and the others go on.
    ///   - metadata: headers for this call only, after the configuration's.
    public func generateBatch(
        _ request: BatchRequest, deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) -> BatchResultStream {
        BatchResultStream(frames: generateBatchFrames(request, deadline: deadline, metadata: metadata))
    }

    /// `GenerateBatch` as raw frames, each tagged with its item's index.
    public func generateBatchFrames(
        _ request: BatchRequest, deadline: Duration? = nil, metadata: [(name: String, value: String)] = []
    ) -> TokenFrameStream {
        TokenFrameStream(messages: call("/tokenwire.v1.TokenStream/GenerateBatch", request, deadline: deadline, metadata: metadata))
    }
}
