public import TokenwireProviders
import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
public import TokenwireCore
import TokenwireHTTP2
import TokenwireWire

/// The Tokenwire gRPC server: `tokenwire.v1.TokenStream` and `grpc.health.v1.Health` over
/// cleartext HTTP/2 (prior knowledge), one nghttp2 session per connection.
///
/// ```swift
/// let server = TokenwireServer(configuration: .init())
/// try await server.start()
/// try await server.run()  // returns after shutdown() or a signal
/// ```
public final class TokenwireServer: Sendable {
    public let configuration: ServerConfiguration
    /// Started, active and ended calls.
    public let ledger = CallLedger()
    /// Health statuses served by `grpc.health.v1.Health`.
    public let health: HealthStatusStore
    /// Slots for provider calls (`CallLimits.maxActiveCalls`): held, waiting, draining.
    public let admission: AdmissionControl
    let router: GRPCMethodRouter
    let logger: Logger
    private let group: any EventLoopGroup
    private let providers: [any TokenProvider]
    /// Every model a call may ask for (routed names and aliases), for the log at start.
    private let servedModels: [String]
    private let ownsGroup: Bool
    /// Present when the server made its own event loops: calls then run on them.
    private let tickGates: LoopTickGates?
    private let state = Mutex(State())
    /// Bytes of requests still arriving, over all connections.
    let requestBudget: RequestBufferBudget
    /// The spare descriptor that lets accepting pause when the process runs out.
    private let descriptorReserve = FileDescriptorReserve()
    /// Resumable streams by token.
    let resumeRegistry: ResumeRegistry
    /// The bearer tokens of `--auth-tokens`, read at start and on `reloadAuthTokens`.
    let authenticator: CallAuthenticator?
    /// What `start` refuses to start with (output filters that cannot work).
    private let configurationError: TokenwireError?
    /// Tenants' running calls against their `max_active_calls`.
    let tenantLimits = TenantCallLimits()

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: NIOLoopBound<HTTP2ConnectionHandler>] = [:]
        var shuttingDown = false
        var drained: [CheckedContinuation<Void, Never>] = []
        var stopped: [CheckedContinuation<Void, Never>] = []
        var isStopped = false
        /// Connections refused by `maxConnections` since the last warning about it.
        var refusedConnections = 0
        var lastRefusalWarning: ContinuousClock.Instant?
        /// Sends streams to the resume store (`--resume-store`) from `start` to shutdown.
        var mirrorTask: Task<Void, Never>?
        /// The metrics endpoint's listener (`--metrics-port`).
        var metricsListener: (any Channel)?
    }

    /// The server's metrics, when `configuration.metrics` asks for them.
    let metrics: ServerMetrics?

    /// The port of the metrics endpoint (useful with port 0), once started.
    public var metricsPort: Int? { state.withLock { $0.metricsListener?.localAddress?.port } }

    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - providers: token providers besides the built-in synthetic one.
    ///   - group: event loops to use; by default the server makes its own.
    public convenience init(configuration: ServerConfiguration, providers: [any TokenProvider] = [], group: (any EventLoopGroup)? = nil) {
        self.init(configuration: configuration, group: group) { _ in ProviderCatalog(providers: providers) }
    }

    /// A server whose providers are made on its event loops (upstream providers want their
    /// HTTP connections on the loops that run the calls, so a token never changes thread).
    ///
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - group: event loops to use; by default the server makes its own.
    ///   - makeProviders: called once, with the server's event loops.
    public init(
        configuration: ServerConfiguration,
        group: (any EventLoopGroup)? = nil,
        makeProviders: (any EventLoopGroup) throws -> ProviderCatalog
    ) rethrows {
        self.configuration = configuration
        self.authenticator = configuration.authTokensPath.map { CallAuthenticator(path: $0) }
        self.requestBudget = RequestBufferBudget(limit: configuration.connectionLimits.maxBufferedRequestBytes)
        var logger = Logger(label: "tokenwire.server")
        logger.logLevel = configuration.logLevel
        self.logger = logger
        let tickGates: LoopTickGates?
        if let group {
            self.group = group
            self.ownsGroup = false
            tickGates = nil
        } else {
            let threads = configuration.eventLoopThreads > 0
                ? configuration.eventLoopThreads : UsableCores.count(fallback: System.coreCount)
            let gates = LoopTickGates()
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads, metricsDelegate: gates)
            self.ownsGroup = true
            tickGates = configuration.runCallsOnEventLoops ? gates : nil
        }
        self.tickGates = tickGates
        let resumeRegistry = ResumeRegistry(configuration: configuration.resume, group: self.group, logger: logger)
        self.resumeRegistry = resumeRegistry
        let metrics = configuration.metrics.map { _ in ServerMetrics() }
        self.metrics = metrics
        let catalog: ProviderCatalog
        do {
            catalog = try makeProviders(self.group)
        } catch {
            if ownsGroup { try? self.group.syncShutdownGracefully() }
            throw error
        }
        let synthetic = SyntheticProvider(tokensPerSecond: configuration.pacedTokensPerSecond)
        self.providers = [synthetic] + catalog.providers
        var registry = ProviderRegistry(self.providers, aliases: catalog.aliases, fallbacks: catalog.fallbacks)
        do {
            registry.outputFilters = try OutputFilters(specs: catalog.filters, modelFilters: catalog.modelFilters)
            registry.outputStages = configuration.outputStages
            registry.hedges = catalog.hedges
            self.configurationError = nil
        } catch {
            self.configurationError = error
        }
        self.servedModels = registry.models
        let health = HealthStatusStore(services: [TokenStreamService.serviceName])
        self.health = health
        let admission = AdmissionControl(limit: configuration.limits.maxActiveCalls)
        self.admission = admission
        let methods = TokenStreamService(
            providers: registry, admission: admission, limits: configuration.limits,
            resume: configuration.resume.isEnabled ? resumeRegistry : nil, metrics: metrics
        ).methods + HealthService(store: health).methods
        let descriptors: ProtoDescriptorIndex?
        do {
            descriptors = try ProtoDescriptorIndex(fileDescriptorSet: ServedDescriptors.fileDescriptorSet)
        } catch {
            logger.error("reflection is off: the served proto descriptors cannot be read", metadata: ["error": "\(error)"])
            descriptors = nil
        }
        let reflection = ReflectionService(servedPaths: methods.map(\.path), index: descriptors)
        self.router = GRPCMethodRouter(methods + reflection.methods)
    }

    /// Bytes of requests still arriving that the server holds now, over all connections
    /// (bounded by `ConnectionLimits.maxBufferedRequestBytes`).
    public var bufferedRequestBytes: Int { requestBudget.heldBytes }

    /// The port the server listens on (useful with port 0).
    public var port: Int? { state.withLock { $0.listener?.localAddress?.port } }

    /// The listener's event loop (for tests that hold it, so that connections wait in the
    /// kernel's accept queue).
    var listenerEventLoop: (any EventLoop)? { state.withLock { $0.listener?.eventLoop } }

    /// Binds the listening socket.
    /// - Throws: when the address cannot be bound (in use, not local, no permission).
    public func start() async throws {
        if let configurationError { throw configurationError }
        if let authenticator {
            let tenants = try authenticator.reload()
            logger.info("auth tokens", metadata: ["file": "\(authenticator.path)", "tenants": .array(tenants.map { .string($0.name) })])
        }
        let tls = try configuration.tls?.makeContext()
        try await tickGates?.prepare(group)
        if let mirror = resumeRegistry.mirror {
            let task = Task { await mirror.run() }
            state.withLock { $0.mirrorTask = task }
        }
        if let metrics, let address = configuration.metrics {
            let listener: any Channel
            do {
                listener = try await MetricsEndpoint.start(host: address.host, port: address.port, group: group, metrics: metrics)
            } catch {
                throw TokenwireError.unavailable(
                    "cannot serve metrics on \(address.host):\(address.port): \(error) (is another process using the port? see --metrics-port)")
            }
            state.withLock { $0.metricsListener = listener }
            logger.info("metrics", metadata: ["address": "http://\(address.host):\(listener.localAddress?.port ?? 0)/metrics"])
        }
        let (logger, reserve) = (self.logger, descriptorReserve)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: Self.acceptBacklog)
            // One accept pass takes the whole queue: `ListenerCloser` closes right after one.
            .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: UInt(Self.acceptBacklog) + 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoff.makeHandler(reserve: reserve, logger: logger))
                    try channel.pipeline.syncOperations.addHandler(ListenerCloser())
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.setUpConnection(channel, tls: tls) }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw TokenwireError.unavailable(
                "cannot listen on \(configuration.host):\(configuration.port): \(error) (is another server using the port? try --port 0)")
        }
        state.withLock { $0.listener = listener }
        logger.info(
            "listening",
            metadata: [
                "address": "\(configuration.host):\(listener.localAddress?.port ?? 0)",
                "transport": tls == nil ? "h2c" : configuration.tls?.clientCAPath == nil ? "h2 over TLS" : "h2 over mutual TLS",
            ])
        logger.info("serving models", metadata: ["models": .array(servedModels.map { .string($0) })])
    }

    /// `host:port` of a peer, for log lines.
    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "" }
        if let ip = address.ipAddress, let port = address.port {
            return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        }
        return "\(address)"
    }

    /// Reads the `--auth-tokens` file again (`tokenwire serve` does on SIGHUP); calls that
    /// start from now on are checked against it. On an error the tokens in use stay.
    /// - Returns: the tenants now known; nil when the server takes no tokens.
    @discardableResult
    public func reloadAuthTokens() throws(TokenwireError) -> [AuthTokens.Tenant]? {
        guard let authenticator else { return nil }
        let tenants = try authenticator.reload()
        logger.info("auth tokens reloaded", metadata: ["file": "\(authenticator.path)", "tenants": .array(tenants.map { .string($0.name) })])
        return tenants
    }

    private func setUpConnection(_ channel: any Channel, tls: NIOSSLContext?) throws {
        let handler = HTTP2ConnectionHandler(
            role: .server, eventLoop: channel.eventLoop, configuration: configuration.http2,
            keepalive: configuration.keepalive, logger: logger)
        let id = ObjectIdentifier(handler)
        let connection = GRPCServerConnection(
            router: router, configuration: configuration,
            scheduling: CallScheduling(eventLoop: channel.eventLoop, gates: tickGates), ledger: ledger,
            requestBudget: requestBudget, peer: Self.describe(channel.remoteAddress),
            security: CallSecurity(authenticator: authenticator, tenantLimits: tenantLimits), metrics: metrics, logger: logger,
            onClose: { [self] in connectionClosed(id) })
        handler.delegate = connection
        let maxConnections = configuration.connectionLimits.maxConnections
        let outOfDescriptors = descriptorReserve.shouldRefuseNext()
        let (shuttingDown, refused) = state.withLock { state -> (Bool, Bool) in
            guard state.connections.count < maxConnections, !outOfDescriptors else { return (state.shuttingDown, true) }
            state.connections[id] = NIOLoopBound(handler, eventLoop: channel.eventLoop)
            metrics?.connectionsOpen(state.connections.count)
            return (state.shuttingDown, false)
        }
        if let tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        }
        try channel.pipeline.syncOperations.addHandler(handler)
        if outOfDescriptors {
            // This connection holds the reserve's descriptor: refuse it, then take the reserve back.
            handler.delegate = nil
            let reserve = descriptorReserve
            channel.closeFuture.whenComplete { _ in reserve.refill() }
            handler.refuse(errorCode: .enhanceYourCalm, reason: "the server is out of file descriptors")
        } else if refused {
            handler.delegate = nil
            warnConnectionRefused(limit: maxConnections)
            handler.refuse(errorCode: .enhanceYourCalm, reason: "too many connections (the server's --max-connections is \(maxConnections))")
        } else if shuttingDown {
            handler.beginGracefulShutdown()
        }
    }

    /// Connections the kernel may complete before the server takes them (`listen`'s backlog).
    static let acceptBacklog: Int32 = 256

    /// Closes the listener once it has taken the connections already in its accept queue
    /// (`ListenerCloser`): closing it at once would reset them, calls already written on them.
    private static func closeAfterAcceptQueue(_ listener: any Channel) async {
        let closed = listener.eventLoop.makePromise(of: Void.self)
        listener.eventLoop.execute {
            if let closer = try? listener.pipeline.syncOperations.handler(type: ListenerCloser.self) {
                closer.close(promise: closed)
            } else {
                listener.close(promise: closed)
            }
        }
        try? await closed.futureResult.get()
    }

    /// Logs refused connections at most once every 10 seconds, with how many there were.
    private func warnConnectionRefused(limit: Int) {
        let now = ContinuousClock.now
        let refused = state.withLock { state -> Int? in
            state.refusedConnections += 1
            if let last = state.lastRefusalWarning, now - last < .seconds(10) { return nil }
            state.lastRefusalWarning = now
            defer { state.refusedConnections = 0 }
            return state.refusedConnections
        }
        if let refused {
            logger.warning(
                "refusing connections: \(limit) are open (--max-connections)", metadata: ["refused": "\(refused)"])
        }
    }

    private func connectionClosed(_ id: ObjectIdentifier) {
        descriptorReserve.refill()
        let drained = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.connections.removeValue(forKey: id)
            metrics?.connectionsOpen(state.connections.count)
            guard state.connections.isEmpty else { return [] }
            defer { state.drained.removeAll() }
            return state.drained
        }
        for continuation in drained { continuation.resume() }
    }

    /// Waits until the server has shut down.
    public func run() async {
        await withCheckedContinuation { continuation in
            let stopped = state.withLock { state -> Bool in
                if state.isStopped { return true }
                state.stopped.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    /// Shuts down gracefully: health turns NOT_SERVING, the listener closes, every
    /// connection gets the two-phase GOAWAY, open calls may finish within the drain
    /// timeout, then whatever is left is closed.
    public func shutdown() async {
        let (first, listener, connections) = state.withLock { state -> (Bool, (any Channel)?, [NIOLoopBound<HTTP2ConnectionHandler>]) in
            if state.shuttingDown { return (false, nil, []) }
            state.shuttingDown = true
            return (true, state.listener, Array(state.connections.values))
        }
        guard first else { return await run() }
        // A server whose start failed (or never ran) has no calls: it only lets go of what
        // it holds.
        if let listener {
            logger.info("shutting down: draining open calls", metadata: ["connections": "\(connections.count)"])
            health.setAll(.notServing)
            health.finishWatchers()
            admission.beginDraining()
            await Self.closeAfterAcceptQueue(listener)
            for connection in connections {
                connection.eventLoop.execute { connection.value.beginGracefulShutdown() }
            }
            await waitForDrain()
            // From here a lost connection cancels: no stream waits for a resume that cannot come.
            resumeRegistry.close()
            let stragglers = state.withLock { Array($0.connections.values) }
            for connection in stragglers {
                connection.eventLoop.execute { connection.value.close(reason: "drain timeout") }
            }
            await waitForCallsToEnd()
        } else {
            resumeRegistry.close()
        }
        // The streams' last frames and ends are queued by now: the mirror sends them, then stops.
        if let mirrorTask = state.withLock({ $0.mirrorTask }) {
            mirrorTask.cancel()
            await mirrorTask.value
        }
        for provider in providers { await provider.shutdown() }
        if let metricsListener = state.withLock({ $0.metricsListener }) { try? await metricsListener.close() }
        tickGates?.shutdown()
        if ownsGroup { try? await group.shutdownGracefully() }
        let stopped = state.withLock { state in
            state.isStopped = true
            defer { state.stopped.removeAll() }
            return state.stopped
        }
        logger.info("stopped")
        for continuation in stopped { continuation.resume() }
    }

    /// Waits for every call's task to end (closing a connection cancels its calls), so that
    /// no call outlives the providers and event loops it runs on; bounded by
    /// `callsEndTimeout`, after which the calls still running are named in a warning.
    private func waitForCallsToEnd() async {
        let deadline = ContinuousClock.now + Self.callsEndTimeout
        while ledger.snapshot.active > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let active = ledger.snapshot.active
        if active > 0 {
            logger.warning(
                "shutting down with calls still running: their providers did not stop within \(Self.callsEndTimeout) of being cancelled",
                metadata: ["calls": "\(active)"])
        }
    }

    /// How long cancelled calls get to end at shutdown, after the drain timeout.
    static let callsEndTimeout: Duration = .seconds(5)

    private func waitForDrain() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let empty = self.state.withLock { state -> Bool in
                        if state.connections.isEmpty { return true }
                        state.drained.append(continuation)
                        return false
                    }
                    if empty { continuation.resume() }
                }
            }
            group.addTask { [configuration] in
                try? await Task.sleep(for: configuration.drainTimeout)
            }
            await group.next()
            group.cancelAll()
            // The drain waiter cannot be cancelled; release it if it is still parked.
            let parked = self.state.withLock { state in
                defer { state.drained.removeAll() }
                return state.drained
            }
            for continuation in parked { continuation.resume() }
        }
    }
}
