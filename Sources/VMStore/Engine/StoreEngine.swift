/// What differs between the databases the store runs on, in one place (vapor/sql-kit's `SQLDialect`,
/// at the level of the store's operations): how a read or a write transaction runs, on which
/// connection, with which statements, and how the engine's errors become ``StoreError``s.
///
/// Everything else is written once, on ``StoreStatements``: the pair as identity, the ambiguity rule,
/// the one-row rule for keyed writes, the intents' state machine, the sync and async forms.
/// SQLite's engine is in this module (`SQLiteStoreEngine`); PostgreSQL's is in `VMStorePostgres`, so a
/// deployer on SQLite links no NIO.
package protocol StoreEngine: Sendable {
    /// The database, for messages: the file's path, or the URL with its password masked.
    var location: String { get }
    /// The schema version the engine saw last (it follows a migration run while the store is open).
    var schemaVersion: Int { get }

    /// Runs `body` on a connection that reads the last committed state; with `snapshot`, every
    /// statement of `body` sees the same state (one read transaction), otherwise `body` runs one statement.
    ///
    /// - Throws: What `body` throws, or a ``StoreError`` for the engine's own failures.
    func read<T>(snapshot: Bool, _ body: (any StoreStatements) throws -> T) throws -> T
    /// The same, suspending (never blocking a thread of the cooperative pool) while it waits.
    func read<T: Sendable>(snapshot: Bool, _ body: @escaping @Sendable (any StoreStatements) throws -> T) async throws -> T

    /// Runs `body` in one write transaction: everything it writes commits together, or, when it
    /// throws, nothing does.
    func write<T>(_ body: (any StoreStatements) throws -> T) throws -> T
    /// The same, suspending while it waits for a connection and the write lock.
    func write<T: Sendable>(_ body: @Sendable (any StoreStatements) throws -> T) async throws -> T

    /// Closes the engine's own connections; further use throws.
    func close() throws
}
