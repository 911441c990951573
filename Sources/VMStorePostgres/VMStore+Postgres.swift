import Foundation
import PostgresAccess
import VMStore

extension VMStore {
    /// Opens the store on a PostgreSQL database: the same API, keys, rules and errors as on a SQLite
    /// file, for several deployer processes at once (the server holds every one of them to
    /// `UNIQUE (network, vm_id)`).
    ///
    /// Connections are opened on demand, at most the location's `pool_max`. Synchronous calls wait for
    /// the server on the caller's thread (never call one on a NIO event loop); `async` calls suspend.
    ///
    /// ```swift
    /// let store = try VMStore(postgres: try PostgresLocation(url: "postgres://deployer@db.example/vmdb?sslmode=verify-full"))
    /// ```
    ///
    /// - Parameters:
    ///   - location: Where the database is and how to log in (`PostgresLocation(url:)`).
    ///   - busyTimeout: How long a write waits for another transaction's lock before ``StoreError/Code/busy``,
    ///     in seconds (the connections' `lock_timeout`), as SQLite's busy timeout.
    ///   - clock: The clock behind `created_at`, `updated_at` and `updates_checked_at`.
    /// - Throws: ``StoreError``: `unusableDatabase` (no server, a refused login, no such database),
    ///   `notManaged` (no migration history), `schemaTooOld` / `databaseNewer`.
    public convenience init(postgres location: PostgresLocation, busyTimeout: Double = 5,
                            clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.init(engine: try PostgresStoreEngine(location, busyTimeout: busyTimeout), clock: clock)
    }
}
