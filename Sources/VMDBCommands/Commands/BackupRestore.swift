import ArgumentParser
import MigrationKit
import MigrationKitPostgres

extension VMDB {
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a consistent online backup (SQLite backup API, WAL-safe) into a new file (mode 0600).",
            discussion: "On PostgreSQL (--db postgres://…): pg_dump's custom format from one exported snapshot, with a record of the schema version and every table's rows and content hash beside it (FILE.record.json). pg_dump gets the password through its environment, never its command line.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: ArgumentHelp("The new backup file; never overwritten.", valueName: "file"), completion: .file())
        var destination: String

        func run() async throws {
            switch try database.location() {
            case .file(let path):
                let record = try VMDB.migrator.backup(path: path, to: destination, progress: output.progressHandler)
                try output.emit(record) { "backup: \(record.path) (\(record.bytes) bytes, sha256 \(record.sha256))\n" }
            case .postgres(let location):
                let record = try await VMDB.postgresMigrator.backup(location, to: destination)
                try output.emit(record) {
                    let rows = record.tables.map(\.rows).reduce(0, +)
                    return "backup: \(record.path) (\(record.bytes) bytes, sha256 \(record.sha256)): \(record.database) at schema version \(record.schemaVersion), \(record.tables.count) tables, \(rows) rows; record in \(PostgresBackupRecord.recordPath(for: record.path))\n"
                }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a backup back, after checking it; the current content is backed up first.",
            discussion: "On PostgreSQL: the backup is checked whole (its record's sha256, pg_restore --list, its history) before anything is touched, then every table of the schema is replaced in one transaction; a failure rolls all of it back.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("from"), help: ArgumentHelp("The backup to restore.", valueName: "file"), completion: .file())
        var source: String

        @Option(help: ArgumentHelp("Where the safety backup of the current content goes (default: beside the database; on PostgreSQL, beside the backup).", valueName: "dir"), completion: .directory)
        var backupDir: String?

        @Flag(help: "Do not back up the current content first.")
        var noBackup = false

        func run() async throws {
            switch try database.location() {
            case .file(let path):
                let report = try VMDB.migrator.restore(path: path, from: source, safetyBackupDirectory: backupDir,
                                                       takesSafetyBackup: !noBackup, progress: output.progressHandler)
                try output.emit(report) {
                    var text = "restored \(report.path) from \(report.restoredFrom) (schema version \(report.restoredVersion))\n"
                    if let safety = report.safetyBackup { text += "the content it replaced is in \(safety.path)\n" }
                    return text
                }
            case .postgres(let location):
                let report = try await VMDB.postgresMigrator.restore(location, from: source, safetyBackupDirectory: backupDir,
                                                                     takesSafetyBackup: !noBackup)
                try output.emit(report) {
                    var text = "restored \(report.database) from \(report.restoredFrom) (schema version \(report.restoredVersion)) in one transaction\n"
                    if report.matchesRecord == true { text += "every table's rows and content hash equal the backup's record\n" }
                    if report.matchesRecord == false { text += "warning: the restored content differs from the backup's record\n" }
                    if let safety = report.safetyBackup { text += "the content it replaced is in \(safety.path)\n" }
                    return text
                }
            }
        }
    }
}
