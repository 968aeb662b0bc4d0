import Logging
import NIOCore
import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// The gRPC layer of one server connection: turns HTTP/2 streams into calls.
///
/// - Important: Event-loop only.
final class GRPCServerConnection: HTTP2ConnectionDelegate {
    private let router: GRPCMethodRouter
    private let configuration: ServerConfiguration
    private let ledger: CallLedger
    private let logger: Logger
    private let onClose: () -> Void
    private var calls: [HTTP2StreamID: GRPCServerCall] = [:]
    /// Calls whose request had not ended when their headers arrived: their request timers
    /// are armed at the end of the read burst, for those whose request is still arriving
    /// then (almost every unary request ends in the burst its headers came in, and needs
    /// no timer: three allocations per call fewer).
    private var awaitingRequest: [GRPCServerCall] = []
    private let scheduling: CallScheduling
    private let requestBytes: RequestBufferAccount
    /// The client's address, for the calls' log lines.
    private let peer: String
    private let metrics: ServerMetrics?
    /// Tokens and tenants' limits; none by default.
    private let security: CallSecurity

    init(
        router: GRPCMethodRouter, configuration: ServerConfiguration, scheduling: CallScheduling, ledger: CallLedger,
        requestBudget: RequestBufferBudget, peer: String = "", security: CallSecurity = CallSecurity(authenticator: nil, tenantLimits: TenantCallLimits()),
        metrics: ServerMetrics? = nil, logger: Logger, onClose: @escaping () -> Void
    ) {
        self.security = security
        self.peer = peer
        self.metrics = metrics
        self.requestBytes = RequestBufferAccount(
            budget: requestBudget, limit: configuration.connectionLimits.maxBufferedRequestBytesPerConnection)
        self.scheduling = scheduling
        self.router = router
        self.configuration = configuration
        self.ledger = ledger
        self.logger = logger
        self.onClose = onClose
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedHeaders headers: [HTTP2Header], streamID: HTTP2StreamID, endStream: Bool) {
        guard calls[streamID] == nil else { return }  // request trailers: nothing to do
        switch GRPCRequestHead.parse(headers, router: router) {
        case .failure(let rejection):
            connection.respondHeadersOnly(streamID: streamID, headers: rejection.headers)
        case .success(var head):
            let tenant: AuthTokens.Tenant?
            do {
                tenant = try security.authenticate(head.context)
            } catch {
                metrics?.unauthenticated()
                logger.debug("call refused", metadata: ["path": "\(head.context.path)", "peer": "\(peer)", "status": "\(error.status)"])
                connection.respondHeadersOnly(streamID: streamID, headers: GRPCStatusTrailers.trailersOnly(error.status))
                return
            }
            if let tenant {
                head.context.tenant = tenant.name
                head.context.metadata.removeAll { $0.name == "authorization" }
            }
            let call = GRPCServerCall(
                streamID: streamID, method: head.method, context: head.context,
                maxMessageSize: configuration.maxReceiveMessageSize,
                connection: connection, scheduling: scheduling, ledger: ledger, requestBytes: requestBytes, peer: peer, gzip: head.gzip,
                tenant: tenant.map { ($0, security.tenantLimits) }, metrics: metrics, logger: logger)
            calls[streamID] = call
            if let timeout = head.timeout { call.startDeadline(after: timeout) }
            if !endStream, !head.method.takesRequestStream { awaitingRequest.append(call) }
            call.headersReceived()
            if endStream { call.receivedEnd() }
        }
    }

    func connection(
        _ connection: HTTP2ConnectionHandler, refusedHeaders refusal: HTTP2HeaderListTooLarge, streamID: HTTP2StreamID, endStream: Bool
    ) {
        let status = GRPCStatus(code: .resourceExhausted, message: refusal.message)
        if calls[streamID] != nil {
            // Request trailers past the limit, on a call already under way: end it.
            connection.resetStream(streamID, errorCode: .protocolError)
        } else {
            connection.respondHeadersOnly(streamID: streamID, headers: GRPCStatusTrailers.trailersOnly(status))
        }
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedData data: ByteBuffer, streamID: HTTP2StreamID) {
        calls[streamID]?.received(data)
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedEndStream streamID: HTTP2StreamID) {
        calls[streamID]?.receivedEnd()
    }

    func connection(_ connection: HTTP2ConnectionHandler, closedStream streamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {
        calls.removeValue(forKey: streamID)?.closed()
    }

    func connection(_ connection: HTTP2ConnectionHandler, receivedGoAway lastStreamID: HTTP2StreamID, errorCode: HTTP2ErrorCode) {}

    func connectionReadComplete(_ connection: HTTP2ConnectionHandler) {
        guard !awaitingRequest.isEmpty else { return }
        for call in awaitingRequest where call.isReceivingRequest {
            call.startRequestTimer(configuration.connectionLimits.requestTimeout)
        }
        awaitingRequest.removeAll(keepingCapacity: true)
    }

    func connectionClosed(_ connection: HTTP2ConnectionHandler, error: (any Error)?) {
        awaitingRequest.removeAll()
        for call in calls.values { call.connectionLost() }
        calls.removeAll()
        onClose()
    }
}
