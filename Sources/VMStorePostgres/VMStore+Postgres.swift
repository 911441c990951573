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
    /// Opens the store the deployer's configuration names: a SQLite file's path, or a `postgres://` URL
    /// (its pool settings in the URL: `pool_max`, `pool_min`). One setting picks the engine; the code
    /// that uses the store does not change.
    ///
    /// ```swift
    /// let store = try VMStore(database: configuration.database)   // "/var/lib/deployer/vms.db" or "postgres://…"
    /// ```
    ///
    /// - Throws: as ``init(path:options:)`` or ``init(postgres:busyTimeout:clock:)``; `PostgresLocationError`
    ///   for a URL that cannot be read (its password masked in the message).
    public convenience init(database: String, options: Options = Options()) throws {
        if PostgresLocation.isURL(database) {
            try self.init(postgres: try PostgresLocation(url: database), busyTimeout: options.busyTimeout, clock: options.clock)
        } else {
            try self.init(path: database, options: options)
        }
    }

    public convenience init(postgres location: PostgresLocation, busyTimeout: Double = 5,
                            clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.init(engine: try PostgresStoreEngine(location, busyTimeout: busyTimeout), clock: clock)
    }
}
