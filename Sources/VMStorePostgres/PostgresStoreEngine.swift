import Dispatch
import Foundation
import PostgresAccess
import PostgresNIO
import VMStore

/// The store on a PostgreSQL database (docs/POSTGRESQL-DESIGN.md): its own connections
/// (``PostgresConnections``), a write transaction per `write` (`BEGIN ISOLATION LEVEL READ COMMITTED`,
/// with `FOR UPDATE` where a read decides a write), and the schema version read from the migration
/// history inside each write transaction, so a write never runs on a schema it was not written for.
final class PostgresStoreEngine: StoreEngine, @unchecked Sendable {
    // @unchecked: `lastVersion` is only touched under `lock`; the rest is immutable and Sendable.
    let location: String
    private let connections: PostgresConnections
    private let lock = NSLock()
    private var lastVersion: Int
    /// Where the `async` forms run their synchronous work: threads of their own, never the
    /// cooperative pool's, as GRDB's async forms run on their connection's queue.
    private let lanes: [Lane]
    private let nextLane = NSLock()
    private var laneIndex = 0

    var schemaVersion: Int { lock.withLock { lastVersion } }

    /// Connects (one connection, which stays in the pool) and checks the schema version.
    ///
    /// - Throws: ``StoreError``: `unusableDatabase` (no server, a refused login, no such database),
    ///   `notManaged` (no migration history), `schemaTooOld` / `databaseNewer`.
    init(_ location: PostgresLocation, busyTimeout: Double) throws {
        self.location = location.description
        self.connections = try PostgresConnections(location, busyTimeout: busyTimeout)
        self.lanes = (0..<max(1, location.pool.maximumConnections)).map { Lane(label: "vmdb.store.postgres.\($0)") }
        self.lastVersion = 0
        do {
            lastVersion = try connections.withConnection { try Self.checkVersion($0, location: location.description) }
        } catch {
            connections.close()
            throw PostgresFailure.storeError(error, location: self.location)
        }
    }

    func close() throws {
        connections.close()
    }

    /// The newest version in the history, refused unless this store can read and write it
    /// (``StoreCompatibility``, as on SQLite). PostgreSQL's forms start at v3's shape.
    private static func checkVersion(_ connection: PostgresConnection, location: String) throws -> Int {
        let statements = PostgresStatements(connection: connection, isWriting: false, version: 0, location: location)
        let version: Int
        do {
            guard let newest = try statements.run("SELECT max(version) FROM vmdb_migrations").rows.first?.decode(Int?.self) else {
                throw StoreError(.notManaged(path: location))
            }
            version = newest
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {   // undefined_table
            throw StoreError(.notManaged(path: location))
        }
        if version < 3 {
            throw StoreError(.schemaTooOld(path: location, found: version, expected: VMStore.schemaVersion))
        }
        try StoreCompatibility.check(version, location: location) {
            try statements.run("""
                SELECT version, name, store_compatible_from FROM vmdb_migrations
                WHERE version > \(Int64(VMStore.schemaVersion)) ORDER BY version
                """).rows.map { row in
                let (version, name, from) = try row.decode((Int64, String, Int64?).self)
                return StoreCompatibility.LaterMigration(version: Int(version), name: name, promise: from.map { .from(Int($0)) } ?? .none)
            }
        }
        return version
    }

    // MARK: Reading

    /// One statement runs alone (it reads one committed state); a snapshot runs in a read-only
    /// `REPEATABLE READ` transaction, in which every statement sees the same state.
    func read<T>(snapshot: Bool, _ body: (any StoreStatements) throws -> T) throws -> T {
        let version = schemaVersion
        do {
            return try connections.withConnection { connection in
                let statements = PostgresStatements(connection: connection, isWriting: false, version: version, location: location)
                guard snapshot else { return try body(statements) }
                return try transaction(statements, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try body(statements) }
            }
        } catch {
            throw PostgresFailure.storeError(error, location: location)
        }
    }

    func read<T: Sendable>(snapshot: Bool, _ body: @escaping @Sendable (any StoreStatements) throws -> T) async throws -> T {
        try await lane().run { try self.read(snapshot: snapshot, body) }
    }

    // MARK: Writing

    func write<T>(_ body: (any StoreStatements) throws -> T) throws -> T {
        do {
            return try connections.withConnection { connection in
                let reading = PostgresStatements(connection: connection, isWriting: true, version: 0, location: location)
                return try transaction(reading, begin: "BEGIN ISOLATION LEVEL READ COMMITTED") {
                    let version = try currentVersion(connection)
                    return try body(PostgresStatements(connection: connection, isWriting: true, version: version, location: location))
                }
            }
        } catch {
            throw PostgresFailure.storeError(error, location: location)
        }
    }

    func write<T: Sendable>(_ body: @Sendable (any StoreStatements) throws -> T) async throws -> T {
        try await lane().run { try self.write(body) }
    }

    /// The history's newest version, read in the write transaction (one row of its primary key's
    /// index); checked again in full only when it moved since the last transaction saw it.
    private func currentVersion(_ connection: PostgresConnection) throws -> Int {
        let statements = PostgresStatements(connection: connection, isWriting: true, version: 0, location: location)
        let newest = try statements.run("SELECT max(version) FROM vmdb_migrations").rows.first?.decode(Int?.self)
        if let newest, newest == schemaVersion { return newest }
        let version = try Self.checkVersion(connection, location: location)
        lock.withLock { lastVersion = version }
        return version
    }

    /// Runs `body` between `begin` and `COMMIT`, or `ROLLBACK` when it throws.
    ///
    /// A statement PostgreSQL refused aborts the whole transaction, and the server then answers
    /// `COMMIT` with `ROLLBACK`: a body that caught such an error and returned would otherwise be
    /// told its writes were committed. That answer is an error here.
    private func transaction<T>(_ statements: PostgresStatements, begin: PostgresQuery, _ body: () throws -> T) throws -> T {
        try statements.run(begin)
        do {
            let result = try body()
            let committed = try statements.run("COMMIT")
            guard committed.metadata.command == "COMMIT" else {
                throw StoreError(.serverFailure(location: location, sqlState: "25P02",
                                                detail: "a statement of the transaction failed, so the server rolled it back at COMMIT; nothing of it was written"))
            }
            return result
        } catch {
            if !statements.connection.isClosed { _ = try? statements.run("ROLLBACK") }
            throw error
        }
    }

    /// The next lane, round robin.
    private func lane() -> Lane {
        nextLane.withLock {
            laneIndex = (laneIndex + 1) % lanes.count
            return lanes[laneIndex]
        }
    }
}

/// A serial dispatch queue an `async` call hops to, to run a synchronous store call there and resume
/// with its result: the wait for the server blocks that queue's thread, never one of the cooperative
/// pool's (GRDB's `DispatchQueueActor`, for the same reason).
private actor Lane {
    private let executor: QueueExecutor

    init(label: String) {
        executor = QueueExecutor(queue: DispatchQueue(label: label))
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    func run<T: Sendable>(_ work: () throws -> T) throws -> T {
        try work()
    }
}

private final class QueueExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked: a DispatchQueue is thread-safe; it is only used to enqueue.
    private let queue: DispatchQueue

    init(queue: DispatchQueue) {
        self.queue = queue
    }

    func enqueue(_ job: UnownedJob) {
        queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
