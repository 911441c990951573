import Foundation
import GRDB
import SQLiteFiles

/// Opening a SQLite file: what it is, its journal, its schema version, and SQLite's errors in the
/// operator's terms.
extension VMStore {
    /// Refuses any version but ``schemaVersion``, through a read-only
    /// connection: a refused database is left byte for byte as it was.
    ///
    /// - Returns: The database's version.
    static func checkSchemaVersion(_ path: String, busyTimeout: Double) throws -> Int {
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
    /// declared that it keeps a store of this version working (``StoreCompatibility``).
    package static func checkSchemaVersion(_ db: Database, path: String) throws -> Int {
        let version = try schemaVersion(db, path: path)
        try StoreCompatibility.check(version, location: path) {
            let hasPromises = try db.columns(in: "vmdb_migrations").contains { $0.name == "store_compatible_from" }
            return try Row.fetchAll(db, sql: """
                SELECT version, name, \(hasPromises ? "store_compatible_from" : "NULL") FROM vmdb_migrations
                WHERE version > ? ORDER BY version
                """, arguments: [Self.schemaVersion]).map { row in
                let from: DatabaseValue = row[2]
                let promise: StoreCompatibility.LaterMigration.Promise =
                    from.isNull ? .none : Int.fromDatabaseValue(from).map { .from($0) } ?? .unreadable
                return StoreCompatibility.LaterMigration(version: row[0], name: row[1], promise: promise)
            }
        }
        return version
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
    static func checkExistingDatabase(_ path: String) throws -> FileJournal {
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
