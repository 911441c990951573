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
///
/// A reader that finds every connection in use waits for one: a synchronous
/// caller blocks its thread (as GRDB's synchronous reads do), an `async` one
/// suspends, so waiting never holds a thread of the cooperative pool.
final class ReaderConnections: @unchecked Sendable {
    // @unchecked: every stored var is only touched under `lock`; a connection is
    // handed to one reader at a time (checked out, then checked in); a
    // DatabaseQueue is itself Sendable and serializes its own use.
    private let lock = NSLock()
    private var idle: [DatabaseQueue] = []
    private var openCount = 0
    private var isClosed = false
    /// Readers waiting for a connection, first come first served.
    private var waiters: [Waiter] = []
    private let maximumCount: Int
    private let path: String
    private let configuration: Configuration

    /// What a reader is given: a connection, or the right to open one.
    private enum Grant {
        case connection(DatabaseQueue)
        case openOne
    }

    /// Someone waiting for a connection another reader will check in.
    private enum Waiter {
        /// A blocked thread: the grant is left in the box, then the semaphore signalled.
        case thread(Handoff)
        /// A suspended task, resumed with the grant.
        case task(CheckedContinuation<Grant, any Error>)

        /// Wakes the waiter with `grant` (nil: the store was closed).
        func resume(with grant: Grant?) {
            switch self {
            case .thread(let handoff):
                handoff.grant = grant
                handoff.ready.signal()
            case .task(let continuation):
                if let grant { continuation.resume(returning: grant) } else { continuation.resume(throwing: ReaderConnections.closedError) }
            }
        }
    }

    /// Where a grant is handed to a blocked thread.
    private final class Handoff: @unchecked Sendable {
        // @unchecked: `grant` is written once before `ready` is signalled, and
        // read only after the wait returns.
        let ready = DispatchSemaphore(value: 0)
        var grant: Grant?
    }

    init(path: String, maximumCount: Int, busyTimeout: Double) {
        self.path = path
        self.maximumCount = max(1, maximumCount)
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "vmdb.store.reader"
        configuration.busyMode = .timeout(busyTimeout)
        self.configuration = configuration
    }

    /// Runs `body` with a connection no other reader uses meanwhile.
    func withConnection<T>(_ body: (DatabaseQueue) throws -> T) throws -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    /// Runs `body` with a connection no other reader uses meanwhile, suspending
    /// (not blocking) while all are in use.
    func withConnection<T>(_ body: (DatabaseQueue) async throws -> T) async throws -> T {
        let connection = try await checkOutSuspending()
        do {
            let value = try await body(connection)
            checkIn(connection)
            return value
        } catch {
            checkIn(connection)
            throw error
        }
    }

    /// Takes an idle connection or the right to open one, or else enqueues `waiter`
    /// (returning nil), under one lock, so a check-in in between cannot be missed.
    private func claim(orEnqueue waiter: @autoclosure () -> Waiter) throws -> Grant? {
        try lock.withLock {
            guard !isClosed else { throw Self.closedError }
            if let connection = idle.popLast() { return .connection(connection) }
            if openCount < maximumCount {
                openCount += 1
                return .openOne
            }
            waiters.append(waiter())
            return nil
        }
    }

    /// The connection a grant gives.
    private func connection(for grant: Grant) throws -> DatabaseQueue {
        switch grant {
        case .connection(let connection):
            return connection
        case .openOne:
            do {
                return try DatabaseQueue(path: path, configuration: configuration)
            } catch {
                // The slot is free again: the first waiter, if any, tries in its turn.
                let waiter: Waiter? = lock.withLock {
                    if waiters.isEmpty { openCount -= 1; return nil }
                    return waiters.removeFirst()
                }
                waiter?.resume(with: .openOne)
                throw error
            }
        }
    }

    private func checkOut() throws -> DatabaseQueue {
        // The hand-off (and its semaphore) is made only when there is a wait: not on
        // the lookup path, where a connection is idle.
        var handoff: Handoff?
        let claimed = try claim(orEnqueue: {
            let waiting = Handoff()
            handoff = waiting
            return .thread(waiting)
        }())
        if let claimed { return try connection(for: claimed) }
        guard let handoff else { throw Self.closedError }
        handoff.ready.wait()
        guard let grant = handoff.grant else { throw Self.closedError }
        return try connection(for: grant)
    }

    private func checkOutSuspending() async throws -> DatabaseQueue {
        let grant: Grant = try await withCheckedThrowingContinuation { continuation in
            do {
                // Nil: enqueued, resumed by checkIn or close.
                if let grant = try claim(orEnqueue: .task(continuation)) { continuation.resume(returning: grant) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
        return try connection(for: grant)
    }

    private func checkIn(_ connection: DatabaseQueue) {
        let waiter: Waiter? = lock.withLock {
            if isClosed {
                try? connection.close()
                openCount -= 1
                return nil
            }
            if !waiters.isEmpty { return waiters.removeFirst() }
            idle.append(connection)
            return nil
        }
        waiter?.resume(with: .connection(connection))
    }

    /// Closes the idle connections now, and the others as they come back; waiting readers get an error.
    func close() throws {
        let (connections, waiting) = lock.withLock {
            isClosed = true
            defer { idle = []; waiters = [] }
            return (idle, waiters)
        }
        for waiter in waiting { waiter.resume(with: nil) }
        for connection in connections { try connection.close() }
    }

    fileprivate static var closedError: DatabaseError {
        DatabaseError(resultCode: .SQLITE_MISUSE, message: "the store is closed")
    }
}
