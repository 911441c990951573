import Foundation
import GRDB
import SQLiteFiles

extension Migrator {
    /// Refuses early when the filesystem cannot hold the backup, the new tables and the WAL.
    func checkDiskSpace(_ queue: DatabaseQueue, path: String, scripts: [MigrationScript], options: MigrationOptions) throws {
        let fileSize = DiskSpace.fileSize(path)
        let recreated = Set(scripts.flatMap { $0.definition.recreations.map(\.table) })
        let tableBytes: Int64 = try queue.read { db in
            guard !recreated.isEmpty else { return fileSize / 10 }
            let hasDBStat = (try? db.execute(sql: "SELECT 1 FROM dbstat LIMIT 1")) != nil
            guard hasDBStat else { return fileSize }
            var total: Int64 = 0
            for table in recreated {
                total += try Int64.fetchOne(db, sql: """
                    SELECT coalesce(sum(pgsize), 0) FROM dbstat
                    WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?)
                    """, arguments: [table]) ?? 0
            }
            return total
        }
        // New tables, the WAL holding them, and the freed old pages: about 3× the recreated tables.
        let migrationNeed = 3 * tableBytes
        let backupFolderPath = options.backupDirectory.map { ($0 as NSString).appendingPathComponent("x") } ?? path
        let sameFilesystem = options.backupDirectory == nil
        let backupNeed = options.takesBackup ? fileSize : 0
        if let free = DiskSpace.available(inFolderOf: path) {
            let need = migrationNeed + (sameFilesystem ? backupNeed : 0)
            if free < need {
                throw MigrationError(.outOfSpace, "not enough disk space to migrate \(path): it needs about \(DiskSpace.describe(need)) (\(options.takesBackup && sameFilesystem ? "backup, " : "")new tables, WAL), \(DiskSpace.describe(free)) is free; nothing was changed", path: path)
            }
        }
        if !sameFilesystem, backupNeed > 0, let free = DiskSpace.available(inFolderOf: backupFolderPath), free < backupNeed {
            throw MigrationError(.outOfSpace, "not enough space in \(options.backupDirectory!) for the backup: it needs about \(DiskSpace.describe(backupNeed)), \(DiskSpace.describe(free)) is free; nothing was changed")
        }
    }
}
