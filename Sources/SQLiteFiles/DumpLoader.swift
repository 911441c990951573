import Foundation
import GRDB

/// Loads SQL text (as `sqlite3 .dump` writes it) into a new database file: the
/// one way vmdb makes a database from a dump (snapshots, the demo's sample, test fixtures).
package enum DumpLoader {
    package enum JournalMode: Sendable { case wal, delete }

    /// Creates `path` (mode 0600; an existing file is never overwritten), sets the
    /// journal mode before the first table exists, as the deployer's file had it,
    /// then runs `dump` with foreign keys off, as `sqlite3` loads a dump (parents may
    /// follow their children). A failure removes the new file.
    ///
    /// - Throws: ``SQLiteFileError``: `fileExists`, `cannotCreate`, or the SQLite
    ///   error the dump met.
    package static func load(_ dump: String, intoNewFile path: String, journalMode: JournalMode) throws {
        try BackupService.createPrivateFile(path)
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = false
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: journalMode == .wal ? "PRAGMA journal_mode = WAL" : "PRAGMA journal_mode = DELETE")
                try db.execute(sql: dump)
            }
            try queue.close()
        } catch {
            BackupService.removeDatabaseFiles(path)
            throw SQLiteFileError.wrapping(error, path: path, doing: "loading a dump")
        }
    }
}
