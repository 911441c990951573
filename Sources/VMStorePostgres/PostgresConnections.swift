import Foundation
import Logging
import PostgresAccess
import PostgresNIO

/// The store's PostgreSQL connections: opened on demand, at most the location's `pool_max` at once,
/// each used by one transaction at a time, and driven through PostgresNIO's `EventLoopFuture` API.
///
/// Why not `PostgresClient`: its pool leases connections only to `async` code, so a synchronous
/// store call would have to block its thread on a task that needs a thread of Swift's cooperative
/// pool to run. A synchronous caller is often on that pool (a test, an `async` deployer calling a
/// sync form), and with every pool thread blocked so (two on a two-core machine) the lease never
/// runs: a deadlock. Futures complete on NIO's event loops, which no store caller ever blocks:
/// a synchronous caller waits on them from its own thread, never from an event loop.
final class PostgresConnections: @unchecked Sendable {
    // @unchecked: every stored var is only touched under `lock`; a connection is handed to one
    // transaction at a time (checked out, then checked in or closed).
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var isClosed = false
    /// Threads waiting for a connection, first come first served: each is woken by its semaphore.
    private var waiters: [Waiter] = []
    private var nextID = 0
    private let maximumCount: Int
    private let configuration: PostgresConnection.Configuration
    private let location: String
    /// `lock_timeout` on every connection: how long a statement waits for another transaction's lock.
    private let lockTimeout: String

    private final class Waiter: @unchecked Sendable {
        // @unchecked: `grant` is written once before `ready` is signalled, and read only after the wait returns.
        let ready = DispatchSemaphore(value: 0)
        var grant: Grant?
    }

    private enum Grant {
        case connection(PostgresConnection)
        case openOne
        case closed
    }

    init(_ location: PostgresLocation, busyTimeout: Double) throws {
        configuration = try location.connectionConfiguration()
        maximumCount = max(1, location.pool.maximumConnections)
        self.location = location.description
        lockTimeout = "\(max(1, Int((busyTimeout * 1000).rounded())))ms"
    }

    /// Runs `body` with a connection no other transaction uses meanwhile, on the caller's thread,
    /// which must not be an event loop's (it waits for the connection and for every statement).
    /// A connection whose use failed other than by the server's refusal of a statement is closed,
    /// not reused (`isBroken`).
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        precondition(MultiThreadedEventLoopGroup.currentEventLoop == nil,
                     "a synchronous VMStore call on PostgreSQL waits for the server: never call one on an event loop")
        let connection = try checkOut()
        do {
            let result = try body(connection)
            checkIn(connection)
            return result
        } catch {
            if PostgresFailure.isBroken(error) || connection.isClosed {
                discard(connection)
            } else {
                checkIn(connection)
            }
            throw error
        }
    }

    private func checkOut() throws -> PostgresConnection {
        var waiter: Waiter?
        var grant: Grant = try lock.withLock {
            guard !isClosed else { throw PostgresFailure.closed(location) }
            while let connection = idle.popLast() {
                if !connection.isClosed { return .connection(connection) }
                openCount -= 1   // the server or the network closed it while idle
            }
            if openCount < maximumCount {
                openCount += 1
                return .openOne
            }
            let waiting = Waiter()
            waiters.append(waiting)
            waiter = waiting
            return .closed
        }
        if let waiter {
            waiter.ready.wait()
            grant = waiter.grant ?? .closed
        }
        switch grant {
        case .connection(let connection):
            return connection
        case .closed:
            throw PostgresFailure.closed(location)
        case .openOne:
            let id = lock.withLock {
                nextID += 1
                return nextID
            }
            do {
                let connection = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                                configuration: configuration, id: id, logger: Self.logger).wait()
                do {
                    // The store's busy timeout, as SQLite's: a write waits this long for another's lock,
                    // then fails with 55P03 (StoreError busy) instead of waiting for ever.
                    _ = try connection.query("SELECT set_config('lock_timeout', \(lockTimeout), false)", logger: Self.logger).wait()
                } catch {
                    _ = try? connection.close().wait()
                    throw error
                }
                return connection
            } catch {
                discardSlot()
                throw PostgresFailure.connectionFailed(error, location: location)
            }
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        let waiter: Waiter? = lock.withLock {
            if isClosed {
                openCount -= 1
                return nil
            }
            if !waiters.isEmpty { return waiters.removeFirst() }
            idle.append(connection)
            return nil
        }
        if let waiter {
            waiter.grant = .connection(connection)
            waiter.ready.signal()
        } else if lock.withLock({ isClosed }) {
            _ = try? connection.close().wait()
        }
    }

    /// Closes a connection that must not be reused, and gives its slot to the first waiter.
    private func discard(_ connection: PostgresConnection) {
        _ = try? connection.close().wait()
        discardSlot()
    }

    private func discardSlot() {
        let waiter: Waiter? = lock.withLock {
            if waiters.isEmpty || isClosed { openCount -= 1; return nil }
            return waiters.removeFirst()
        }
        if let waiter {
            waiter.grant = .openOne
            waiter.ready.signal()
        }
    }

    /// A store released without ``close()`` still closes its idle connections (PostgresNIO requires a
    /// connection closed before it goes), waiting for them unless released on an event loop.
    deinit {
        for connection in idle {
            let closing: EventLoopFuture<Void> = connection.close()
            if MultiThreadedEventLoopGroup.currentEventLoop == nil { _ = try? closing.wait() }
        }
    }

    /// Closes the idle connections now, and the others as they come back; waiting callers get an error.
    func close() {
        let (connections, waiting) = lock.withLock {
            isClosed = true
            defer { idle = []; waiters = [] }
            openCount -= idle.count
            return (idle, waiters)
        }
        for waiter in waiting {
            waiter.grant = .closed
            waiter.ready.signal()
        }
        for connection in connections { _ = try? connection.close().wait() }
    }

    /// PostgresNIO logs to this; the store reports what matters through its errors.
    static let logger = Logger(label: "vmdb.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
