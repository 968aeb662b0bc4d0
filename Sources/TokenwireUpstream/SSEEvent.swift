/// One dispatched Server-Sent Event (WHATWG HTML, "server-sent events").
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field; nil when the event had none (the WHATWG default type is "message").
    public var event: String?
    /// The `data:` lines joined with "\n".
    public var data: String
    /// The last event id seen (the `id:` field persists across events), if any.
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}
