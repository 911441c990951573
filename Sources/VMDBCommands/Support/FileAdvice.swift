import Foundation
import SQLiteFiles

/// What an operator does next about a database file that could not be used,
/// whichever command met it: one sentence per file-plumbing code, in vmdb's words.
enum FileAdvice {
    /// The advice to append after the error's own message, or nil when the message says it all.
    static func nextStep(for code: SQLiteFileError.Code, path: String) -> String? {
        switch code {
        case .noSuchDatabase:
            " (vmdb never creates a database on its own; `vmdb init --db \(path)` makes a new one)"
        case .notADatabase:
            // A folder is a wrong path, not a damaged file: the message already asks for the file.
            isFolder(path) ? nil : ". If it is the right file, restore it from a backup (vmdb restore)"
        case .readOnlyFile:
            ". Make it writable (chmod u+w), or work on a copy (vmdb migrate --dry-run)"
        case .readOnlyFolder:
            ". Make the folder writable, or work on a copy"
        case .locked:
            ". Retry when the deployer's write finishes, or raise --busy-timeout"
        case .outOfSpace:
            ". Free space, put the backup elsewhere (--backup-dir), or pass --no-backup at your own risk"
        case .ioError:
            ". Check the disk and the permissions, then retry"
        case .unexpectedSQLiteError:
            ". This is likely a bug: report it with the output of `vmdb status --db \(path)`"
        case .fileExists, .cannotCreate:
            nil
        }
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
