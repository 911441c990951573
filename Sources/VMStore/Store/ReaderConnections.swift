import Foundation
import GRDB

/// The store's read-only connections: opened on demand, at most `maximumCount`
/// at once, each used by one reader at a time.
///
/// Why not `DatabasePool.read`: for the store's one-statement lookups, GRDB's
/// pool adds a `PRAGMA schema_version` statement (with its own SQLite lock
/// round trip) and its checkout machinery to every read; measured on 100,000
/// lookups by pair, that made the store 0.4x the raw C API. A read-only
/// `DatabaseQueue` used through `inDatabase` runs the statement alone (0.9x).
/// In WAL mode every connection reads the last committed state while the
/// writer writes, so readers stay concurrent with each other and with the writer.
final class ReaderConnections: @unchecked Sendable {
    // @unchecked: `idle` and `openCount` are only touched under `lock`; the
    // semaphore bounds how many connections are in use at once; a DatabaseQueue
    // is itself Sendable and serializes its own use.
    private let lock = NSLock()
    private let available: DispatchSemaphore
    private var idle: [DatabaseQueue] = []
    private var openCount = 0
    private var isClosed = false
    private let path: String
    private let configuration: Configuration

    init(path: String, maximumCount: Int, busyTimeout: Double) {
        self.path = path
        available = DispatchSemaphore(value: max(1, maximumCount))
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "vmdb.store.reader"
        configuration.busyMode = .timeout(busyTimeout)
        self.configuration = configuration
    }

    /// Runs `body` with a connection no other reader uses meanwhile.
    func withConnection<T>(_ body: (DatabaseQueue) throws -> T) throws -> T {
        available.wait()
        defer { available.signal() }
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    private func checkOut() throws -> DatabaseQueue {
        try lock.withLock {
            guard !isClosed else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the store is closed") }
            if let connection = idle.popLast() { return connection }
            let connection = try DatabaseQueue(path: path, configuration: configuration)
            openCount += 1
            return connection
        }
    }

    private func checkIn(_ connection: DatabaseQueue) {
        lock.withLock {
            if isClosed { try? connection.close() } else { idle.append(connection) }
        }
    }

    /// Closes the idle connections now, and the others as they come back.
    func close() throws {
        let connections = lock.withLock {
            isClosed = true
            defer { idle = [] }
            return idle
        }
        for connection in connections { try connection.close() }
    }
}
