import ArgumentParser
import MigrationKit

extension VMDB {
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a consistent online backup (SQLite backup API, WAL-safe) into a new file (mode 0600).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: ArgumentHelp("The new backup file; never overwritten.", valueName: "file"), completion: .file())
        var destination: String

        func run() throws {
            let record = try VMDB.migrator.backup(path: try database.resolvedPath(), to: destination, progress: output.progressHandler)
            try output.emit(record) { "backup: \(record.path) (\(record.bytes) bytes, sha256 \(record.sha256))\n" }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a backup back, after checking it; the current content is backed up first.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("from"), help: ArgumentHelp("The backup to restore.", valueName: "file"), completion: .file())
        var source: String

        @Option(help: ArgumentHelp("Where the safety backup of the current content goes (default: beside the database).", valueName: "dir"), completion: .directory)
        var backupDir: String?

        @Flag(help: "Do not back up the current content first.")
        var noBackup = false

        func run() throws {
            let report = try VMDB.migrator.restore(path: try database.resolvedPath(), from: source, safetyBackupDirectory: backupDir,
                                                   takesSafetyBackup: !noBackup, progress: output.progressHandler)
            try output.emit(report) {
                var text = "restored \(report.path) from \(report.restoredFrom) (schema version \(report.restoredVersion))\n"
                if let safety = report.safetyBackup { text += "the content it replaced is in \(safety.path)\n" }
                return text
            }
        }
    }
}
