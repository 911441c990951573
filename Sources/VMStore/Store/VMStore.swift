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

    /// The database file.
    public let path: String
    /// The schema version of the database as the store last saw it (it follows a
    /// migration run while it is open).
    public var databaseSchemaVersion: Int { schemaWatch.version }
    /// Which schema each connection reads, checked in every transaction.
    let schemaWatch: SchemaWatch
    /// The store's own writer connection, or the deployer's `DatabaseQueue` or `DatabasePool`.
    let writer: any DatabaseWriter
    /// The store's own read-only connections; nil on the deployer's connections, which read through `writer`.
    let readers: ReaderConnections?
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
        let journal = try Self.checkExistingDatabase(path)
        let version = try Self.recoveringHotJournal(path) {
            try Self.checkSchemaVersion(path, busyTimeout: options.busyTimeout)
        }
        var configuration = Configuration()
        configuration.label = "vmdb.store.writer"
        configuration.busyMode = .timeout(options.busyTimeout)
        // No `journalMode`: GRDB's `.wal` would switch a rollback-journal database to
        // WAL (rewriting its header) and, on an empty -wal file, create and drop a
        // table. The store works in the mode the file is in; for a rollback journal,
        // its writes use the variant the operator's connections leave behind.
        let rollbackPragma = journal.rollbackPragma(journalPath: path + "-journal")
        configuration.prepareDatabase { db in
            if let rollbackPragma, try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" {
                // A rollback variant is per connection: setting it writes nothing.
                try db.execute(sql: rollbackPragma)
            }
        }
        // The v3 schema declares vm_events(network, vm_id) → vms with ON DELETE
        // CASCADE: a deleted VM takes its events with it, as the deployer expects.
        configuration.foreignKeysEnabled = true
        let writer: DatabaseQueue
        do {
            writer = try DatabaseQueue(path: path, configuration: configuration)
            // Per connection, and only the writer commits.
            try writer.inDatabase { db in
                try db.execute(sql: options.isDurable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            }
        } catch {
            throw Self.translateOpening(error, path: path)
        }
        self.path = path
        self.schemaWatch = SchemaWatch(path: path, version: version, trustsDataVersion: true)
        self.writer = writer
        self.readers = ReaderConnections(path: path, maximumCount: options.maximumReaderCount, busyTimeout: options.busyTimeout)
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
        let path = writer.path
        do {
            let version = try writer.read { db in try Self.checkSchemaVersion(db, path: path) }
            self.schemaWatch = SchemaWatch(path: path, version: version, trustsDataVersion: false)
            // Connection settings, read on the connection that writes: reading a
            // pragma writes nothing.
            let (journalMode, foreignKeys) = try writer.writeWithoutTransaction { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false)
            }
            if journalMode.lowercased() == "off" {
                throw StoreError(.unsupportedJournalMode(path: path, mode: "OFF", why: "without a journal SQLite cannot roll a write back, and the store rolls back every write that fails part way. Open the connection with journal_mode DELETE, TRUNCATE, PERSIST or WAL (for a DatabasePool, WAL is set for you)"))
            }
            guard foreignKeys else {
                throw StoreError(.unusableDatabase(path: path, reason: "the given connection has foreign keys off (Configuration.foreignKeysEnabled = false); the store needs them on, so that a deleted VM takes its events with it (ON DELETE CASCADE). Open the connection with foreign keys on, GRDB's default"))
            }
        } catch {
            throw Self.translateOpening(error, path: path)
        }
        self.path = path
        self.writer = writer
        self.readers = nil
        self.clock = clock
    }

    /// Closes the store's own connections. Further use throws. On the deployer's
    /// connections (``init(writer:clock:)``) it does nothing: the deployer closes them.
    ///
    /// - Throws: ``StoreError`` `databaseFailure` when a connection cannot be closed (a statement still runs).
    public func close() throws {
        guard let readers else { return }
        try readers.close()
        try writer.close()
    }

    /// Refuses any version but ``schemaVersion``, through a read-only
    /// connection: a refused database is left byte for byte as it was.
    ///
    /// - Returns: The database's version.
    private static func checkSchemaVersion(_ path: String, busyTimeout: Double) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "vmdb.store.version-check"
        do {
            let connection = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? connection.close() }
            return try connection.read { db in try Self.checkSchemaVersion(db, path: path) }
        } catch {
            throw Self.translateOpening(error, path: path)
        }
    }

    /// Runs `body`; when a read-only connection met a hot journal, which only a
    /// connection that may write can roll back (SQLite refuses the read with
    /// `SQLITE_READONLY_ROLLBACK` rather than read half a transaction), rolls it
    /// back through such a connection and runs `body` once more.
    static func recoveringHotJournal<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StoreError where error.isHotJournal {
            do {
                // A read-write connection of its own; the file's folder must be writable.
                let connection = try DatabaseQueue(path: path)
                defer { try? connection.close() }
                try rollBackHotJournal(connection)
            } catch {
                throw Self.translateOpening(error, path: path)
            }
            return try body()
        }
    }

    /// The database's version, refused unless this store can read and write it:
    /// one of ``supportedVersions``, or a later one whose every migration since
    /// declared that it keeps a store of this version working.
    ///
    /// The promise is read from the database, not from a catalog this build would
    /// ship: a store built for v3 cannot know v4's migration, so v4 says so itself
    /// in its history row (MigrationKit records `--! keeps-store-compatible-from: N`
    /// in the column `store_compatible_from`). This is the expand phase of an
    /// expand/contract change (pgroll): v4 only adds, so v3's reads and writes,
    /// which name their columns, work unchanged; a contract step that drops or
    /// changes what v3 uses makes no such promise, and v3 refuses it.
    package static func checkSchemaVersion(_ db: Database, path: String) throws -> Int {
        let version = try schemaVersion(db, path: path)
        if version < Self.supportedVersions.lowerBound {
            throw StoreError(.schemaTooOld(path: path, found: version, expected: Self.schemaVersion))
        }
        if version > Self.schemaVersion {
            if let refusal = try incompatibleMigration(db, above: Self.schemaVersion, upTo: version) {
                throw StoreError(.databaseNewer(path: path, found: version, expected: Self.schemaVersion, refusal: refusal))
            }
        }
        return version
    }

    /// The first migration after `version` that does not keep a store of that
    /// version working, said in words, or nil when every one does.
    private static func incompatibleMigration(_ db: Database, above version: Int, upTo latest: Int) throws -> String? {
        let hasPromises = try db.columns(in: "vmdb_migrations").contains { $0.name == "store_compatible_from" }
        let rows = try Row.fetchAll(db, sql: """
            SELECT version, name, \(hasPromises ? "store_compatible_from" : "NULL") FROM vmdb_migrations
            WHERE version > ? ORDER BY version
            """, arguments: [version])
        var expected = version + 1
        for row in rows {
            let (number, name, from): (Int, String, DatabaseValue) = (row[0], row[1], row[2])
            guard number == expected else {
                return "its history has no migration \(expected), so what the later ones promise cannot be trusted"
            }
            expected += 1
            switch Int.fromDatabaseValue(from) {
            case let from? where from <= version:
                continue
            case let from?:
                return "migration \(number) (\(name)) keeps stores working only from version \(from)"
            case nil:
                return from.isNull
                    ? "migration \(number) (\(name)) does not declare that it keeps a version \(version) store working"
                    : "migration \(number) (\(name)) records an unreadable compatibility promise"
            }
        }
        return expected == latest + 1 ? nil : "its history has no migration \(expected)"
    }

    /// The highest version recorded in `vmdb_migrations`, which MigrationKit
    /// writes in the same transaction as each migration; for a file that has never
    /// seen vmdb, the version its VM tables' shape says (``UnmanagedSchema``).
    private static func schemaVersion(_ db: Database, path: String) throws -> Int {
        guard try db.tableExists("vmdb_migrations") else {
            guard let version = try UnmanagedSchema.version(db) else { throw StoreError(.notManaged(path: path)) }
            return version
        }
        guard let version = try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") else {
            throw StoreError(.notManaged(path: path))
        }
        return version
    }

    /// Starts and ends a read on a connection that may write: SQLite's pager rolls
    /// a hot journal back on the way in, under an exclusive lock.
    static func rollBackHotJournal(_ connection: some DatabaseWriter) throws {
        _ = try connection.writeWithoutTransaction { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }
    }

    /// How the file keeps its journal, from its header (bytes 18 and 19: 1 for a
    /// rollback journal, 2 for WAL; https://www.sqlite.org/fileformat2.html#file_format_version_numbers).
    enum FileJournal {
        case rollback
        case wal

        /// The rollback variant the store's writer uses, so that its writes leave
        /// the journal file as the operator's connections do: PERSIST keeps a
        /// journal file whose header is zeroed after each commit, TRUNCATE an empty
        /// one, DELETE (SQLite's default) none. The file records no variant, only
        /// its traces do; with none, the writer uses DELETE.
        func rollbackPragma(journalPath: String) -> String? {
            guard self == .rollback,
                  let size = (try? FileManager.default.attributesOfItem(atPath: journalPath))?[.size] as? NSNumber
            else { return nil }
            return size.intValue == 0 ? "PRAGMA journal_mode = TRUNCATE" : "PRAGMA journal_mode = PERSIST"
        }
    }

    /// Refuses, before SQLite can create it, a path that is not an existing SQLite file.
    ///
    /// - Returns: How the file keeps its journal.
    private static func checkExistingDatabase(_ path: String) throws -> FileJournal {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(.unusableDatabase(path: path, reason: "no database here: check the path (the store never creates one; `vmdb init --db \(path)` makes a new one)"))
        }
        guard !isDirectory.boolValue else {
            throw StoreError(.unusableDatabase(path: path, reason: "a folder, not a database file: give the path of the SQLite file"))
        }
        // Through SQLite's descriptor: closing one of our own would drop the locks the
        // deployer's other connections in this process hold (SQLiteFileHeader).
        guard FileManager.default.isReadableFile(atPath: path), let header = SQLiteFileHeader.read(path, count: 20) else {
            throw StoreError(.unusableDatabase(path: path, reason: "cannot be read: check its permissions"))
        }
        guard header.prefix(16) == ArraySlice("SQLite format 3\0".utf8) else {
            throw StoreError(.unusableDatabase(path: path, reason: header.isEmpty
                ? "an empty file, not a deployer database: check the path, or restore it from a backup"
                : "not a SQLite database (its first bytes are not the SQLite header): check the path"))
        }
        // Shorter than a header: SQLite itself refuses it (not a database).
        guard header.count == 20 else { return .rollback }
        let (write, read) = (header[18], header[19])
        switch (write, read) {
        case (1, 1): return .rollback
        case (2, 2): return .wal
        default:
            throw StoreError(.unsupportedJournalMode(path: path, mode: "file format versions \(write)/\(read)",
                                                     why: "its header declares a journal format this SQLite does not know (1 is a rollback journal, 2 is WAL)"))
        }
    }

    /// ``translate(_:path:)`` for opening, which promises only ``StoreError``: anything else
    /// met while reading the file's schema (GRDB's decoding errors) is the database's
    /// failure, named, never an untyped error.
    static func translateOpening(_ error: any Error, path: String) -> StoreError {
        if let error = translate(error, path: path) as? StoreError { return error }
        return StoreError(.databaseFailure(path: path, resultCode: ResultCode.SQLITE_ERROR.rawValue,
                                           detail: "its schema could not be read while opening (\(error))"))
    }

    /// Puts a SQLite error in the operator's terms; store errors pass through.
    static func translate(_ error: any Error, path: String) -> any Error {
        guard let dbError = error as? DatabaseError else { return error }
        if dbError.extendedResultCode == .SQLITE_READONLY_ROLLBACK {
            return StoreError(.hotJournal(path: path))
        }
        switch dbError.resultCode.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.busy(path: path))
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError(.unusableDatabase(path: path, reason: "not a usable SQLite database (\(dbError.message ?? "\(dbError.resultCode)")): restore it from a backup (vmdb restore) or check the path"))
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
            return StoreError(.unusableDatabase(path: path, reason: "cannot be opened for writing (\(dbError.message ?? "\(dbError.resultCode)")): check the file's and its folder's permissions"))
        default:
            // DatabaseError.message is SQLite's text, which names tables and
            // columns but no bound values (GRDB keeps arguments out of it).
            return StoreError(.databaseFailure(path: path, resultCode: dbError.extendedResultCode.rawValue,
                                               detail: dbError.message ?? "\(dbError.resultCode)"))
        }
    }
}
