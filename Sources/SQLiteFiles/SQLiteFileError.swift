import Foundation
import GRDB

/// Why an existing SQLite file could not be opened, copied or written, as data:
/// a ``Code``, the file, SQLite's own error when SQLite raised it, and
/// ``message``, the fact in plain words.
///
/// Like every error below the command layer, it names no command or flag: the
/// caller (migrations, repair, snapshots) turns it into its own error, and the
/// command layer adds what to type next and chooses the exit code.
package struct SQLiteFileError: Error, CustomStringConvertible, Sendable {
    package enum Code: String, Sendable, CaseIterable {
        /// No file at ``SQLiteFileError/path`` (a database is never created on the way).
        case noSuchDatabase
        /// The file is a folder, empty, not a SQLite database, or corrupt.
        case notADatabase
        /// The file cannot be written (permissions, immutable, read-only mount).
        case readOnlyFile
        /// The file's folder cannot be written, where SQLite keeps its journal.
        case readOnlyFolder
        /// A file to be created already exists: nothing is overwritten.
        case fileExists
        /// A file or folder to be created could not be (the folder is missing or not writable).
        case cannotCreate
        /// Another connection held the database past the busy timeout.
        case locked
        /// The disk filled up, or the preflight found too little room.
        case outOfSpace
        /// An I/O error from SQLite or the file system.
        case ioError
        /// A SQLite error nothing here expected: a bug.
        case unexpectedSQLiteError
    }

    package let code: Code
    /// The fact, in plain words; callers add what to do next.
    package let message: String
    /// The file the error is about.
    package let path: String
    /// SQLite's error, when SQLite raised it.
    package let underlying: DatabaseError?

    package init(_ code: Code, _ message: String, path: String, underlying: DatabaseError? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.underlying = underlying
    }

    package var description: String { message }

    /// Translates an error met while `activity` on `path`: a SQLite error by its
    /// primary result code; an error of this type as it is; anything else is
    /// `nil`, for the caller to handle as its own.
    package static func translating(_ error: any Error, path: String, doing activity: String) -> SQLiteFileError? {
        if let error = error as? SQLiteFileError { return error }
        guard let dbError = error as? DatabaseError else { return nil }
        let detail = dbError.message ?? "\(dbError.resultCode)"
        func make(_ code: Code, _ message: String) -> SQLiteFileError {
            SQLiteFileError(code, message, path: path, underlying: dbError)
        }
        switch dbError.resultCode.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return make(.locked, "\(path) stayed locked by another connection while \(activity) (\(detail)); nothing was changed")
        case .SQLITE_FULL:
            return make(.outOfSpace, "the disk filled up while \(activity) on \(path) (\(detail)); everything was rolled back and the file is as it was")
        case .SQLITE_IOERR where !isFolderWritable(of: path), .SQLITE_CANTOPEN where !isFolderWritable(of: path):
            // SQLite writes -wal/-shm (or a journal) beside the database, even to read a WAL file.
            return make(
                .readOnlyFolder,
                "the folder of \(path) is read-only, and SQLite needs to write its journal or shared-memory file beside the database (\(detail)); nothing was changed"
            )
        case .SQLITE_IOERR, .SQLITE_CANTOPEN:
            return make(.ioError, "I/O error while \(activity) on \(path) (\(detail)); everything was rolled back")
        case .SQLITE_READONLY, .SQLITE_PERM:
            return make(.readOnlyFile, "\(path) cannot be written (\(detail)); nothing was changed")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return make(.notADatabase, "\(path) is not a usable SQLite database (\(detail)); nothing was changed")
        default:
            return make(.unexpectedSQLiteError, "\(activity) failed on \(path): \(detail). Everything was rolled back")
        }
    }

    /// As ``translating(_:path:doing:)``, with any other error (a file handle's)
    /// read as an I/O error on `path`.
    package static func wrapping(_ error: any Error, path: String, doing activity: String) -> SQLiteFileError {
        translating(error, path: path, doing: activity)
            ?? SQLiteFileError(.ioError, "\(activity) failed on \(path): \(error)", path: path)
    }

    private static func isFolderWritable(of path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        return FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder)
    }
}
