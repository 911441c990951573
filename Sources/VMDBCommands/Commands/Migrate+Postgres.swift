import ArgumentParser
import Foundation
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import SQLiteFiles

extension VMDB.Migrate {
    /// `vmdb migrate --db postgres://…`: each pending version in one transaction, verified before
    /// COMMIT (PostgreSQL's DDL is transactional), the history written as on SQLite.
    func run(on location: PostgresLocation) async throws {
        if maxLockMs != 100 || chunkMs != 20 || pace != 1 || postponeCutOverFile != nil || maxLagSeconds != 120 || drain != .now {
            throw ValidationError("--max-lock-ms, --chunk-ms, --pace, --max-lag-seconds, --drain and --postpone-cut-over-file are the SQLite online copy's settings; on PostgreSQL, --online takes --busy-timeout (each step's lock_timeout, retried with backoff)")
        }
        if keepCopy != nil { throw ValidationError("--keep-copy is for SQLite files: on PostgreSQL the dry run's scratch database is always dropped") }
        if dryRun && online { throw ValidationError("--dry-run on PostgreSQL runs the migrations on a scratch copy in one transaction each; --online does not go with it") }
        var migrator = VMDB.postgresMigrator
        migrator.verification = verify
        migrator.lockTimeoutMilliseconds = Int((busyTimeout ?? 2) * 1000)
        let parameters = defaultNetwork.map { ["default_network": $0] } ?? [:]
        if dryRun {
            let report = try await migrator.dryRun(location, to: version, parameters: parameters)
            try output.emit(report) { Self.text(report) }
            if let failure = report.failure { throw ExitCode(failure.error?.exitCode ?? failure.kind.exitCode) }
            return
        }
        let watch = Stopwatch()
        let before = try await migrator.status(location)
        try before.requireConsistentHistory()
        let pending = before.pending.filter { $0.version <= (version ?? .max) }
        let backup = noBackup || pending.isEmpty ? nil
            : try await Self.backup(location, migrator: migrator, before: before.currentVersion, in: backupDir, progress: output.progressHandler)
        // --online: step by step with the deployer writing (MigrationKitPostgres/Online); --busy-timeout is then
        // each step's lock_timeout (default 0.2 s), tried again with backoff.
        var settings = PostgresOnlineSettings()
        if let busyTimeout { settings.lockTimeoutMilliseconds = Int(busyTimeout * 1000) }
        var onlineReport: PostgresOnlineReport?
        let applied: [AppliedMigration]
        if online {
            onlineReport = try await migrator.migrateOnline(location, to: version, parameters: parameters, settings: settings)
            applied = onlineReport?.migrations.map(\.applied) ?? []
        } else {
            applied = try await migrator.migrate(location, to: version, parameters: parameters)
        }
        let report = PostgresMigrateReport(path: location.description, fromVersion: before.currentVersion,
                                           toVersion: applied.last?.version ?? before.currentVersion,
                                           seconds: watch.elapsedSeconds, backup: backup, migrations: applied, online: onlineReport)
        try output.emit(report) { report.text }
    }

    /// The backup `migrate` (and `repair --apply`) takes first on PostgreSQL: pg_dump into `folder`
    /// (default: the current folder), named after the database, its version and the time.
    static func backup(_ location: PostgresLocation, migrator: PostgresMigrator, before version: Int, in folder: String?,
                       progress: ProgressHandler?) async throws -> PostgresBackupRecord {
        let stamp = UTCTimestamp.now().replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ".", with: "-")
        let name = "\(location.database)-v\(version)-\(stamp).pgdump".replacingOccurrences(of: "/", with: "_")
        let path = ((folder ?? FileManager.default.currentDirectoryPath) as NSString).appendingPathComponent(name)
        let phase = "backup (pg_dump) to \(path)"
        progress?(.started(phase: phase, total: nil))
        let watch = Stopwatch()
        let record = try await migrator.backup(location, to: path)
        progress?(.finished(phase: phase, seconds: watch.elapsedSeconds))
        return record
    }

    static func text(_ report: PostgresDryRunReport) -> String {
        var lines = ["dry run of \(report.database): version \(report.fromVersion) -> \(report.toVersion), on the scratch database \(report.scratchDatabase) (dropped)"]
        lines.append(String(format: "copy: %d tables, %d rows, from one snapshot in %.2f s", report.copiedTables.count,
                            report.copiedTables.map(\.rows).reduce(0, +), report.copySeconds))
        if report.pending.isEmpty { lines.append("nothing to do") }
        for migration in report.applied {
            lines.append(String(format: "  %d %@: %.2f s on the copy", migration.version, migration.name, Double(migration.durationMilliseconds) / 1000))
            if let verification = migration.verification { lines += DryRunRendering.probeLines(verification) }
        }
        if let failure = report.failure {
            lines.append("WOULD FAIL: \(failure.error?.operatorMessage ?? failure.message)")
        } else if !report.pending.isEmpty {
            lines.append("verdict: would succeed; the live database was not touched")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What `vmdb migrate` did on PostgreSQL: the history rows it wrote (their verification included).
struct PostgresMigrateReport: Encodable {
    let engine = "postgresql"
    let path: String
    let fromVersion: Int
    let toVersion: Int
    let seconds: Double
    /// The pg_dump backup taken first (nil with --no-backup, or with nothing to do).
    let backup: PostgresBackupRecord?
    let migrations: [AppliedMigration]
    /// With --online: each step's duration, lock and retries.
    let online: PostgresOnlineReport?

    var text: String {
        var lines: [String] = []
        if let backup {
            lines.append(String(format: "backup: %@ (%lld bytes, sha256 %@…, %.2f s; its record beside it)", backup.path, backup.bytes, String(backup.sha256.prefix(16)), backup.seconds))
        }
        if migrations.isEmpty { lines.append("\(path) is at version \(toVersion): nothing to do") }
        for migration in migrations {
            lines.append(String(format: "migrated to %d (%@) in %.2f s, %@", migration.version, migration.name,
                                Double(migration.durationMilliseconds) / 1000, online == nil ? "in one transaction" : "online, step by step"))
            guard let verification = migration.verification else { continue }
            for table in verification.tables {
                let hash = table.hashBefore == nil ? "" : (table.hashBefore == table.hashAfter ? ", content hash equal" : ", content hash CHANGED")
                lines.append("  \(table.table): \(table.rowsBefore) → \(table.rowsAfter.map(String.init) ?? "-") rows\(hash)")
            }
            lines.append("  invariants \(verification.invariants.allSatisfy { $0.violations == 0 } ? "hold" : "broken")")
            lines += DryRunRendering.probeLines(verification)
        }
        if let online {
            lines.append(String(format: "online: the longest lock blocking the deployer's writes %.1f ms, %d retries", online.longestLockMilliseconds, online.retries))
        }
        if !migrations.isEmpty { lines.append(String(format: "done: version %d → %d in %.2f s", fromVersion, toVersion, seconds)) }
        return lines.joined(separator: "\n") + "\n"
    }

    private enum CodingKeys: String, CodingKey { case engine, path, fromVersion, toVersion, seconds, backup, migrations, online }
}
