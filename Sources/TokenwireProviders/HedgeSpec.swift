/// A hedge as configured (the providers file's `hedges`): if a call's primary route has
/// produced no content `afterMilliseconds` after the request, `routes` start beside it and
/// the first to produce content serves the call.
public struct HedgeSpec: Sendable, Hashable {
    public var afterMilliseconds: Int
    /// Routed models or aliases, started together when the hedge fires.
    public var routes: [String]

    public init(afterMilliseconds: Int, routes: [String]) {
        self.afterMilliseconds = afterMilliseconds
        self.routes = routes
    }
}
