import Foundation
import GRDB

/// The deployer's VM records, keyed on (network, vm_id), in a database at schema version 3.
///
/// One store per database file, shared freely across tasks and threads. The
/// database is in WAL mode: reads run concurrently on read-only connections
/// (at most ``Options/maximumReaderCount``) while one writer connection
/// writes. Writes are serialized, each in a `BEGIN IMMEDIATE` transaction that
/// waits up to the busy timeout for another process's write, and each commit
/// is durable (`synchronous = FULL`): a VM the deployer was told is recorded
/// survives a power loss.
///
/// The store never migrates: it opens a database only at ``schemaVersion``,
/// read from `vmdb_migrations`, and refuses any other with a ``StoreError``.
/// It never creates a database either: a path that does not exist is an error.
///
/// Every read, update and delete is keyed on both columns (`WHERE network = ?
/// AND vm_id = ?`); a reference without a network is first resolved by the
/// ambiguity rule (one network: that VM; none: not found; several: ambiguous).
public final class VMStore: Sendable {
    /// The schema version this store reads and writes.
    public static let schemaVersion = 3

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
    let writer: DatabaseQueue
    let readers: ReaderConnections
    let clock: @Sendable () -> Date

    /// Opens the existing database at `path`.
    ///
    /// - Throws: ``StoreError``: `unusableDatabase` (no such file, not SQLite),
    ///   `notManaged` (no history table), `schemaTooOld` / `databaseNewer`
    ///   (another version than ``schemaVersion``), `busy`.
    public init(path: String, options: Options = Options()) throws {
        try Self.checkExistingDatabase(path)
        try Self.checkSchemaVersion(path, busyTimeout: options.busyTimeout)
        var configuration = Configuration()
        configuration.label = "vmdb.store.writer"
        configuration.busyMode = .timeout(options.busyTimeout)
        // WAL is set by hand, not with `journalMode = .wal`: GRDB's setup then creates and
        // drops a table whenever the -wal file is empty, so merely opening the store (for
        // `vmdb vm list`) would write to the file. On a database already in WAL mode,
        // as every one vmdb makes is, this pragma writes nothing.
        configuration.prepareDatabase { db in
            guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
                throw DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "could not switch the database to WAL mode")
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
            throw Self.translate(error, path: path)
        }
        self.path = path
        self.writer = writer
        self.readers = ReaderConnections(path: path, maximumCount: options.maximumReaderCount, busyTimeout: options.busyTimeout)
        self.clock = options.clock
    }

    /// Closes every connection. Further use throws.
    public func close() throws {
        try readers.close()
        try writer.close()
    }

    /// Refuses any version but ``schemaVersion``, through a read-only
    /// connection: a refused database is left byte for byte as it was (the
    /// writer connection would switch it to WAL and checkpoint it on close).
    private static func checkSchemaVersion(_ path: String, busyTimeout: Double) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "vmdb.store.version-check"
        do {
            let connection = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? connection.close() }
            let version = try connection.read { db in try Self.schemaVersion(db, path: path) }
            if version < Self.schemaVersion {
                throw StoreError(.schemaTooOld(path: path, found: version, expected: Self.schemaVersion))
            }
            if version > Self.schemaVersion {
                throw StoreError(.databaseNewer(path: path, found: version, expected: Self.schemaVersion))
            }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// The highest version recorded in `vmdb_migrations`, which MigrationKit
    /// writes in the same transaction as each migration.
    private static func schemaVersion(_ db: Database, path: String) throws -> Int {
        guard try db.tableExists("vmdb_migrations") else {
            throw StoreError(.notManaged(path: path))
        }
        guard let version = try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") else {
            throw StoreError(.notManaged(path: path))
        }
        return version
    }

    /// Refuses, before SQLite can create it, a path that is not an existing SQLite file.
    private static func checkExistingDatabase(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(.unusableDatabase(path: path, reason: "no database here: check the path (the store never creates one; `vmdb init --db \(path)` makes a new one)"))
        }
        guard !isDirectory.boolValue else {
            throw StoreError(.unusableDatabase(path: path, reason: "a folder, not a database file: give the path of the SQLite file"))
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.unusableDatabase(path: path, reason: "cannot be read: check its permissions"))
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        guard header == Data("SQLite format 3\0".utf8) else {
            throw StoreError(.unusableDatabase(path: path, reason: header.isEmpty
                ? "an empty file, not a deployer database: check the path, or restore it from a backup"
                : "not a SQLite database (its first bytes are not the SQLite header): check the path"))
        }
    }

    /// Puts a SQLite error in the operator's terms; store errors pass through.
    static func translate(_ error: any Error, path: String) -> any Error {
        guard let dbError = error as? DatabaseError else { return error }
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
