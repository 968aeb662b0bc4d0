import NIOCore
import NIOPosix
import TokenwireClient

/// A connection the load clients make calls on: `TokenwireClient`, or relay-load's
/// `ReadStampingConnection` (`--client raw`).
protocol LoadConnection: AnyObject, Sendable {
    static func open(host: String, port: Int, group: any EventLoopGroup) async throws -> Self
    func close() async
}

extension TokenwireClient: LoadConnection {
    static func open(host: String, port: Int, group: any EventLoopGroup) async throws -> TokenwireClient {
        try await connect(host: host, port: port, group: group)
    }
}

/// The load client's HTTP/2 connections, shared by the workers (worker i uses slot
/// i mod count). A slot whose connection broke is reconnected by the next worker that
/// needs it, as `client.py` reconnects a worker's socket.
actor ConnectionPool<Client: LoadConnection> {
    private enum Slot {
        case empty
        case connecting(Task<Client, any Error>)
        case connected(Client)
    }

    private let host: String
    private let port: Int
    private let group: MultiThreadedEventLoopGroup
    private var slots: [Slot]
    /// Connections closed on purpose by `reset(slot:)` (the soak's connection resets), kept
    /// so no other client can take their identity.
    private var resetClients: [Client] = []

    init(host: String, port: Int, count: Int, group: MultiThreadedEventLoopGroup) {
        self.host = host
        self.port = port
        self.group = group
        slots = Array(repeating: .empty, count: count)
    }

    /// The connection for `slot`, connecting first if it has none.
    /// - Throws: `TokenwireError` (UNAVAILABLE) when the server cannot be reached.
    func client(slot: Int) async throws -> Client {
        switch slots[slot] {
        case .connected(let client):
            return client
        case .connecting(let task):
            return try await task.value
        case .empty:
            let (host, port, group) = (host, port, group)
            let task = Task { try await Client.open(host: host, port: port, group: group) }
            slots[slot] = .connecting(task)
            do {
                let client = try await task.value
                slots[slot] = .connected(client)
                return client
            } catch {
                slots[slot] = .empty
                throw error
            }
        }
    }

    /// Drops `client` from `slot` after its connection broke, so the next call reconnects.
    func discard(_ client: Client, slot: Int) async {
        guard case .connected(let current) = slots[slot], current === client else { return }
        slots[slot] = .empty
        await client.close()
    }

    /// Closes `slot`'s connection at once, as a lost connection would end: no GOAWAY, calls
    /// in flight end with UNAVAILABLE. The next call on the slot reconnects.
    /// - Returns: whether there was a connection to close.
    @discardableResult
    func reset(slot: Int) async -> Bool {
        guard case .connected(let client) = slots[slot] else { return false }
        resetClients.append(client)
        slots[slot] = .empty
        await client.close()
        return true
    }

    /// Whether `client`'s connection was closed by `reset(slot:)`.
    func wasReset(_ client: Client) -> Bool {
        resetClients.contains { $0 === client }
    }

    /// Connects every slot (a run's connections, before its clock starts).
    /// - Throws: the first connection's error.
    func connectAll() async throws {
        for slot in slots.indices { _ = try await client(slot: slot) }
    }

    /// Closes every connection.
    func closeAll() async {
        for index in slots.indices {
            if case .connected(let client) = slots[index] { await client.close() }
            slots[index] = .empty
        }
    }
}
