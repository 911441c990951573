import Foundation
import GRDB

/// Opens databases that already exist, and only those: a typo in a path must
/// never create an empty database.
package enum DatabaseFile {
    package enum Access: Sendable { case readOnly, readWrite }

    /// Checks that `path` is an existing, readable SQLite file, without opening it.
    ///
    /// - Throws: ``SQLiteFileError``, naming the first thing wrong.
    package static func checkExisting(_ path: String, access: Access = .readWrite) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SQLiteFileError(.noSuchDatabase, "no database at \(path): check the path", path: path)
        }
        guard !isDirectory.boolValue else {
            throw SQLiteFileError(.notADatabase, "\(path) is a folder, not a database file: give the path of the SQLite file", path: path)
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw SQLiteFileError(.notADatabase, "\(path) cannot be read: check its permissions", path: path)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else {
            throw SQLiteFileError(.notADatabase, "\(path) is empty (0 bytes), not a database: check the path", path: path)
        }
        // Through SQLite's descriptor: closing one of our own would drop this process's locks (SQLiteFileHeader).
        let header = SQLiteFileHeader.read(path, count: 16) ?? []
        guard header == Array("SQLite format 3\0".utf8) else {
            throw SQLiteFileError(.notADatabase, "\(path) is not a SQLite database (its first bytes are not the SQLite header): check the path", path: path)
        }
        if access == .readWrite {
            let folder = (path as NSString).deletingLastPathComponent
            guard FileManager.default.isWritableFile(atPath: path) else {
                throw SQLiteFileError(.readOnlyFile, "\(path) is read-only: nothing was changed", path: path)
            }
            guard FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder) else {
                throw SQLiteFileError(.readOnlyFolder, "the folder of \(path) is read-only, so SQLite cannot write its journal beside it: nothing was changed", path: path)
            }
        }
    }

    /// A connection to an existing database, with foreign keys off (migrations
    /// manage them) and a busy timeout for the deployer's short writes.
    ///
    /// - Throws: ``SQLiteFileError``: no such file, not a database, read-only
    ///   file or folder (with `.readWrite`), locked, I/O error.
    package static func open(_ path: String, access: Access = .readWrite, busyTimeout: Double = 5,
                            prepare: (@Sendable (Database) throws -> Void)? = nil) throws -> DatabaseQueue {
        try checkExisting(path, access: access)
        var configuration = Configuration()
        configuration.readonly = access == .readOnly
        configuration.foreignKeysEnabled = false
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = path
        configuration.acceptOperatorSchemaAsSQLiteDoes()
        configuration.prepareDatabase { db in try prepare?(db) }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            // Reading the schema is what fails on a corrupt or non-database file.
            _ = try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            return queue
        } catch {
            throw SQLiteFileError.wrapping(error, path: path, doing: "opening the database")
        }
    }
}
