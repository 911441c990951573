import GRDB
import SQLiteFiles

/// What `vmdb restore` did.
public struct RestoreReport: Sendable, Codable {
    public let path: String
    public let restoredFrom: String
    public let restoredVersion: Int
    /// The live database as it was just before the restore replaced it.
    public let safetyBackup: BackupRecord?
    public let seconds: Double
}

extension Migrator {
    /// Takes a consistent online backup of `path` into the new file `destination`.
    ///
    /// - Throws: ``MigrationError``: `noSuchDatabase`, `notADatabase`, `fileExists` (the destination), `outOfSpace`, `ioError`, `locked` (the deployer held the lock past the busy timeout).
    public func backup(path: String, to destination: String, progress: ProgressHandler? = nil) throws -> BackupRecord {
        return try MigrationError.translatingFileErrors(path: path, doing: "taking a backup") {
            let queue = try DatabaseFile.open(path, access: .readOnly)
            _ = try queue.read { try inspect($0, path: path) }
            return try BackupService.backup(queue, sourcePath: path, to: destination, progress: progress)
        }
    }

    /// Puts the backup at `source` back into `path`, after checking the backup
    /// (SQLite file, `integrity_check`, a schema this tool knows) and taking a
    /// safety backup of the live file first, unless told not to.
    ///
    /// - Throws: ``MigrationError``: `noSuchDatabase` or `notADatabase` (the backup), `unusableFile` (the backup fails its integrity check; nothing was replaced), `unknownSchema` (the backup's schema is no known version), `readOnlyFile`, `readOnlyFolder`, `outOfSpace`, `migratorRunning`, `locked`.
    public func restore(path: String, from source: String, safetyBackupDirectory: String?, takesSafetyBackup: Bool,
                        busyTimeout: Double = 5, progress: ProgressHandler? = nil) throws -> RestoreReport {
        return try MigrationError.translatingFileErrors(path: path, doing: "restoring \(source)") {
            let watch = Stopwatch()
            let backup = try DatabaseFile.open(source, access: .readOnly)
            let backupStatus: DatabaseStatus = try backup.read { db in
                let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
                guard problems.isEmpty else {
                    throw MigrationError(.unusableFile, "the backup \(source) fails integrity_check (\(problems.prefix(3).joined(separator: "; "))): it was not restored and \(path) is unchanged. Use another backup", path: source)
                }
                return try inspect(db, path: source)
            }
            try backupStatus.requireConsistentHistory()

            try DatabaseFile.checkExisting(path)
            let lock = try MigratorLock(databasePath: path, suffix: configuration.lockFileSuffix, purpose: "restore")
            defer { withExtendedLifetime(lock) {} }
            let live = try DatabaseFile.open(path, busyTimeout: busyTimeout)
            var safety: BackupRecord?
            if takesSafetyBackup {
                let version = (try? live.read { try inspect($0, path: path).currentVersion }) ?? 0
                safety = try BackupService.backup(live, sourcePath: path,
                                                  to: BackupService.backupPath(for: path, in: safetyBackupDirectory, version: version),
                                                  progress: progress)
            }
            do {
                progress?(.started(phase: "restore", total: nil))
                try BackupService.copySnapshot(of: backup, to: live, phase: "restore", progress: progress)
                progress?(.finished(phase: "restore", seconds: watch.elapsedSeconds))
            } catch {
                throw MigrationError.wrapping(error, path: path, doing: "restoring \(source)")
            }
            try? live.close()
            return RestoreReport(path: path, restoredFrom: source, restoredVersion: backupStatus.currentVersion,
                                 safetyBackup: safety, seconds: watch.elapsedSeconds)
        }
    }
}
