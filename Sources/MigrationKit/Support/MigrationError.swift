import Foundation
import GRDB

/// An error an operator can cause or meet, with a message that names the thing
/// and says what to do next. `kind` decides the documented exit code.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable, Codable {
        /// Bad arguments, or a required value (such as a default network) missing.
        case usage
        /// Verification failed; the transaction was rolled back.
        case verificationFailed
        /// The database records a migration this tool does not ship.
        case databaseNewer
        /// An applied migration differs from the shipped file, or a version is missing.
        case historyInconsistent
        /// Missing file, not SQLite, corrupt, unknown schema.
        case unusableInput
        /// Not enough disk space, or an I/O error.
        case diskFull
        /// Another migrator holds the database, or it stayed locked.
        case busy
        /// A bug: the message says what to report.
        case internalFailure
    }

    public let kind: Kind
    public let message: String
    /// The verification record of a failed migration, when there is one.
    public let verification: VerificationRecord?

    public init(_ kind: Kind, _ message: String, verification: VerificationRecord? = nil) {
        self.kind = kind
        self.message = message
        self.verification = verification
    }

    public var description: String { message }
}

extension MigrationError {
    /// Translates a SQLite error met while working on `path` into the operator's terms.
    public static func wrapping(_ error: any Error, path: String, doing activity: String) -> MigrationError {
        if let error = error as? MigrationError { return error }
        guard let dbError = error as? DatabaseError else {
            return MigrationError(.internalFailure, "\(activity) failed on \(path): \(error)")
        }
        let detail = dbError.message ?? "\(dbError.resultCode)"
        switch dbError.resultCode.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return MigrationError(.busy, "\(path) stayed locked by another connection while \(activity) (\(detail)); nothing was changed. Retry when the deployer's write finishes, or raise --busy-timeout.")
        case .SQLITE_FULL:
            return MigrationError(.diskFull, "the disk filled up while \(activity) on \(path) (\(detail)); everything was rolled back and the file is as it was. Free space and retry.")
        case .SQLITE_IOERR where !isFolderWritable(of: path), .SQLITE_CANTOPEN where !isFolderWritable(of: path):
            // SQLite writes -wal/-shm (or a journal) beside the database, even to read a WAL file.
            return MigrationError(.unusableInput, "the folder of \(path) is read-only, and SQLite needs to write its journal or shared-memory file beside the database (\(detail)); nothing was changed. Make the folder writable, or work on a copy")
        case .SQLITE_IOERR, .SQLITE_CANTOPEN:
            return MigrationError(.diskFull, "I/O error while \(activity) on \(path) (\(detail)); everything was rolled back. Check the disk and the permissions, then retry.")
        case .SQLITE_READONLY, .SQLITE_PERM:
            return MigrationError(.unusableInput, "\(path) cannot be written (\(detail)); nothing was changed. Check the file's and the folder's permissions.")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return MigrationError(.unusableInput, "\(path) is not a usable SQLite database (\(detail)); nothing was changed. Restore it from a backup (vmdb restore) or check the path.")
        default:
            return MigrationError(.internalFailure, "\(activity) failed on \(path): \(detail). Everything was rolled back. This is likely a bug: report it with the output of `vmdb status --db \(path)`.")
        }
    }

    private static func isFolderWritable(of path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        return FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder)
    }
}
