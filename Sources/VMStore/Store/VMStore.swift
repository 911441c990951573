import Foundation
import GRDB
import SQLiteFiles

/// The deployer's VM records, keyed on (network, vm_id), in a database at schema version 2, 3 or 4.
///
/// One store per database file, shared freely across tasks and threads. Opened
/// by path (``init(path:options:)``), the store has its own connections: reads
/// run on read-only connections (at most ``Options/maximumReaderCount``) and
/// one writer connection writes. In WAL mode, readers read while the writer
/// writes; with a rollback journal, they take turns, as SQLite's locks decide.
/// Writes are serialized, each in a `BEGIN IMMEDIATE` transaction that waits
/// up to the busy timeout for another process's write, and each commit is
/// durable (`synchronous = FULL`): a VM the deployer was told is recorded
/// survives a power loss. A deployer with its own GRDB connections opens the
/// store on them instead (``init(writer:clock:)``).
///
/// Every operation comes in two forms: synchronous (`try store.list()`), and
/// `async` (`try await store.list()`), which suspends while it waits for a
/// connection or for the write lock, and never blocks a thread of Swift's
/// cooperative pool.
///
/// The store never migrates, and never changes the journal mode: it opens a
/// database at one of ``supportedVersions``, or at a later version whose migrations
/// each declare that they keep a store of this version working (recorded in
/// `vmdb_migrations`), and refuses any other with a ``StoreError``. It notices a
/// migration while it is open (v2 to v3 under `vmdb migrate --online`, say) in the
/// next transaction, with no restart, and from then on runs the new schema's
/// statements: a deployer keeps provisioning through the upgrade. It never
/// creates a database either: a path that does not exist is an error.
///
/// Every read, update and delete is keyed on both columns (`WHERE network = ?
/// AND vm_id = ?`); a reference without a network is first resolved by the
/// ambiguity rule (one network: that VM; none: not found; several: ambiguous).
///
/// The same store runs on PostgreSQL (`VMStore(postgres:)`, in the library
/// `VMStorePostgres`), with the same rules and errors: where the engines differ
/// is `StoreEngine`'s, and one contract suite runs on both.
public final class VMStore: Sendable {
    /// The newest schema version this store reads and writes.
    public static let schemaVersion = 4
    /// The versions it reads and writes: v2 (VMs keyed on `(network, vm_id)` all the
    /// same, but v2's globally unique `vm_id` refuses an id another network has,
    /// ``StoreError/Code/idOnAnotherNetwork``), v3, and v4 (v3 and the provision
    /// intents; on v2 and v3 the intent calls throw `schemaTooOld`, every other works).
    public static let supportedVersions = 2...4
    /// The first version with provision intents.
    public static let intentsVersion = 4

    /// How the store opens its database.
    public struct Options: Sendable {
        /// How long a write waits for another connection's write before ``StoreError/Code/busy``, in seconds.
        public var busyTimeout: Double
        /// The most read-only connections open at once.
        public var maximumReaderCount: Int
        /// Whether each commit is synced to disk before it returns (`synchronous = FULL`).
        /// Off (`NORMAL`), commits are faster and the file is never corrupted,
        /// but a power loss may undo the last ones.
        public var isDurable: Bool
        /// The clock behind `created_at`, `updated_at` and `updates_checked_at`.
        public var clock: @Sendable () -> Date

        public init(busyTimeout: Double = 5, maximumReaderCount: Int = 5, isDurable: Bool = true,
                    clock: @escaping @Sendable () -> Date = { Date() }) {
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
            self.isDurable = isDurable
            self.clock = clock
        }
    }

    /// The database: the file's path on SQLite; on PostgreSQL, its URL with the password masked.
    public let path: String
    /// The schema version of the database as the store last saw it (it follows a
    /// migration run while it is open).
    public var databaseSchemaVersion: Int { engine.schemaVersion }
    /// Where the engines differ: how a transaction runs, and on which statements.
    let engine: any StoreEngine
    let clock: @Sendable () -> Date

    /// Opens the existing database at `path`.
    ///
    /// Opening and reading change no byte of the file, whatever its journal mode:
    /// the operator's mode is theirs. A database in WAL mode stays in WAL mode; one
    /// with a rollback journal (DELETE, TRUNCATE, PERSIST) keeps it, and the store's
    /// writes leave the journal file as that mode does (PERSIST: a journal file with
    /// a zeroed header stays; TRUNCATE: an empty one stays; DELETE: none).
    /// A hot journal (a writer crashed mid-transaction) is rolled back first, as
    /// any SQLite connection that may write does, so the store reads the last
    /// committed state.
    ///
    /// - Throws: ``StoreError``: `unusableDatabase` (no such file, not SQLite, a
    ///   hot journal this process cannot roll back), `unsupportedJournalMode`,
    ///   `notManaged` (no history table, and tables of no known version's shape), `schemaTooOld` / `databaseNewer`
    ///   (another version than ``schemaVersion`` that no migration declares
    ///   compatible), `busy`.
    public init(path: String, options: Options = Options()) throws {
        self.engine = try SQLiteStoreEngine(path: path, options: options)
        self.path = path
        self.clock = options.clock
    }

    /// Opens the store on connections the deployer already has: its GRDB
    /// `DatabaseQueue` or `DatabasePool`, rather than a second set of connections
    /// to the same file.
    ///
    /// The guarantees are those of ``init(path:options:)``: the schema version is
    /// checked (in a read, so a refused database is untouched), and opening writes
    /// nothing. The connections keep the deployer's settings (busy timeout,
    /// `synchronous`, journal mode); every store write runs in
    /// `writer.write`, so it serializes with the deployer's own writes, and
    /// reads run in `writer.read`. ``close()`` leaves the connections open: they
    /// are the deployer's.
    ///
    /// ```swift
    /// let pool = try DatabasePool(path: "/var/lib/deployer/deployer.db")
    /// let store = try VMStore(writer: pool)
    /// ```
    ///
    /// - Parameters:
    ///   - writer: The deployer's connections. Foreign keys must be on (GRDB's
    ///     default): a deleted VM takes its events with it by `ON DELETE CASCADE`.
    ///   - clock: The clock behind `created_at`, `updated_at` and `updates_checked_at`.
    /// - Throws: ``StoreError``: `notManaged`, `schemaTooOld` / `databaseNewer`,
    ///   `unsupportedJournalMode` (`OFF`, in which a failed write cannot be rolled
    ///   back), `unusableDatabase` (foreign keys off), `busy`.
    public init(writer: some DatabaseWriter, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let engine = try SQLiteStoreEngine(writer: writer)
        self.engine = engine
        self.path = engine.location
        self.clock = clock
    }

    /// Opens the store on another engine (PostgreSQL's, in `VMStorePostgres`).
    package init(engine: any StoreEngine, clock: @escaping @Sendable () -> Date) {
        self.engine = engine
        self.path = engine.location
        self.clock = clock
    }

    /// Closes the store's own connections. Further use throws. On the deployer's
    /// connections (``init(writer:clock:)``) it does nothing: the deployer closes them.
    ///
    /// - Throws: ``StoreError`` `databaseFailure` when a connection cannot be closed (a statement still runs).
    public func close() throws {
        try engine.close()
    }
}
