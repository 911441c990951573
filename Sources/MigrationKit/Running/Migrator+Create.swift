import Foundation
import GRDB
import SQLiteFiles

extension Migrator {
    /// Creates a new database at `path` at `version` (default: latest), in WAL mode.
    ///
    /// - Throws: ``MigrationError``: `fileExists` (never overwrites), `noSuchVersion`, `readOnlyFolder`, `outOfSpace`, `ioError`.
    public func createDatabase(path: String, version: Int? = nil) throws {
        try MigrationError.translatingFileErrors(path: path, doing: "creating the database") {
            let target = version ?? catalog.latestVersion
            guard (1...catalog.latestVersion).contains(target) else {
                throw noSuchVersion(target)
            }
            try BackupService.createPrivateFile(path)
            do {
                var configuration = Configuration()
                configuration.foreignKeysEnabled = false
                configuration.label = path
                let queue = try DatabaseQueue(path: path, configuration: configuration)
                try queue.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA journal_mode = WAL")
                    for script in catalog.scripts where script.version <= target {
                        _ = try apply(db, script: script, parameters: [:], level: .full, baseline: nil,
                                      backupSHA256: nil, log: nil, progress: nil)
                    }
                }
                try queue.close()
            } catch {
                BackupService.removeDatabaseFiles(path)
                throw MigrationError.wrapping(error, path: path, doing: "creating the database")
            }
        }
    }
}
