import Foundation
import GRDB

/// The sample database `vmdb demo` runs on: the shipped snapshot
/// `snapshots/v2-collision` (embedded by scripts/embed-migrations).
enum SampleDatabase {
    /// Loads the sample into a new file at `path` (mode 0600, WAL mode).
    static func write(to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteFileExists) }
        close(fd)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: dump)
        }
        try queue.close()
    }
}
