import Crypto
import Foundation
import GRDB

/// Online backups and restores through SQLite's backup API.
///
/// The copy runs inside one read transaction of the source, so in WAL mode it
/// is a consistent snapshot and the deployer keeps writing meanwhile.
package enum BackupService {
    /// Copies `source` to a new file at `destination` (mode 0600, never
    /// overwriting), checks it with `quick_check`, and returns its SHA-256.
    ///
    /// - Throws: ``SQLiteFileError``: the destination exists or cannot be
    ///   created, too little space, a corrupt source, an I/O error; nothing is left at `destination`.
    package static func backup(_ source: DatabaseQueue, sourcePath: String, to destination: String,
                              progress: ProgressHandler? = nil) throws -> BackupRecord {
        let watch = Stopwatch()
        let bytes = try copy(source, sourcePath: sourcePath, to: destination, progress: progress).bytes
        do {
            return BackupRecord(path: destination, bytes: bytes, sha256: try sha256(ofFile: destination), seconds: watch.elapsedSeconds)
        } catch {
            removeDatabaseFiles(destination)
            throw SQLiteFileError.wrapping(error, path: sourcePath, doing: "taking a backup")
        }
    }

    /// The same online copy, checked with `quick_check` but not checksummed:
    /// for copies nothing is restored from (a dry run's, a snapshot capture's).
    /// At 1,000,000 VMs the checksum alone reads 636 MB again.
    package static func copy(_ source: DatabaseQueue, sourcePath: String, to destination: String,
                            progress: ProgressHandler? = nil) throws -> (bytes: Int64, seconds: Double) {
        let watch = Stopwatch()
        try createPrivateFile(destination)
        do {
            let (pageCount, pageSize) = try source.read { db in
                (try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0, try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096)
            }
            let needed = Int64(pageCount) * Int64(pageSize)
            if let free = DiskSpace.available(inFolderOf: destination), free < needed + needed / 10 {
                throw SQLiteFileError(.outOfSpace, "not enough space for the backup in the folder of \(destination): it needs about \(DiskSpace.describe(needed)), \(DiskSpace.describe(free)) is free; nothing was changed", path: destination)
            }
            var configuration = Configuration()
            configuration.label = "vmdb-backup"
            let target = try DatabaseQueue(path: destination, configuration: configuration)
            progress?(.started(phase: "backup", total: pageCount))
            try copySnapshot(of: source, to: target, phase: "backup", progress: progress)
            let check = try target.read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
            try target.close()
            guard check == ["ok"] else {
                // The backup API copies pages as they are: a page that fails here failed in the source.
                throw SQLiteFileError(.notADatabase, "\(sourcePath) looks corrupt: its backup failed quick_check (\(check.prefix(3).joined(separator: "; "))). Nothing was changed and no backup was kept", path: sourcePath)
            }
            progress?(.finished(phase: "backup", seconds: watch.elapsedSeconds))
            return (DiskSpace.fileSize(destination), watch.elapsedSeconds)
        } catch {
            removeDatabaseFiles(destination)
            throw SQLiteFileError.wrapping(error, path: sourcePath, doing: "taking a backup")
        }
    }

    /// Copies `source` into `target` page by page, every step from the same read snapshot.
    ///
    /// GRDB's `read` opens a DEFERRED transaction, which takes its snapshot only
    /// at the first read. Without one, each `sqlite3_backup_step` reads a fresh
    /// snapshot, sees the deployer's latest commit, and restarts from page 1:
    /// beside a steady writer the backup never ends.
    package static func copySnapshot(of source: DatabaseQueue, to target: DatabaseQueue, phase: String, progress: ProgressHandler?) throws {
        try target.writeWithoutTransaction { destination in
            try source.read { db in
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                try db.backup(to: destination, pagesPerStep: 4096) { step in
                    progress?(.advanced(phase: phase, done: step.completedPageCount, total: step.totalPageCount))
                }
            }
        }
    }

    /// The backup file name for `databasePath` in `folder`: only the database's
    /// base name is used, so the copy always lands inside the folder the operator chose.
    package static func backupPath(for databasePath: String, in folder: String?, version: Int) -> String {
        let directory = folder ?? (databasePath as NSString).deletingLastPathComponent
        let base = (databasePath as NSString).lastPathComponent
        let stamp = UTCTimestamp.now().replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        return ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent("\(base).v\(version).\(stamp).backup")
    }

    /// Creates an empty file readable by its owner only; refuses an existing one.
    package static func createPrivateFile(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            if errno == EEXIST {
                throw SQLiteFileError(.fileExists, "\(path) already exists, and an existing file is never overwritten: choose another path or remove it", path: path)
            }
            throw SQLiteFileError(.cannotCreate, "cannot create \(path) (\(reason)): check that the folder exists and is writable", path: path)
        }
        fchmod(fd, 0o600)
        close(fd)
    }

    package static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    package static func sha256(ofFile path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().hexString
    }
}
