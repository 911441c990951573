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
        if dryRun || !noBackup {
            throw ValidationError("on PostgreSQL this vmdb migrates without a dry run or its own backup yet: give --no-backup (take one with pg_dump first)")
        }
        if keepCopy != nil { throw ValidationError("--keep-copy is for SQLite files: on PostgreSQL the dry run's scratch database is always dropped") }
        var migrator = VMDB.postgresMigrator
        migrator.verification = verify
        migrator.lockTimeoutMilliseconds = Int((busyTimeout ?? 2) * 1000)
        let watch = Stopwatch()
        let before = try await migrator.status(location)
        try before.requireConsistentHistory()
        let parameters = defaultNetwork.map { ["default_network": $0] } ?? [:]
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
                                           seconds: watch.elapsedSeconds, migrations: applied, online: onlineReport)
        try output.emit(report) { report.text }
    }
}

/// What `vmdb migrate` did on PostgreSQL: the history rows it wrote (their verification included).
struct PostgresMigrateReport: Encodable {
    let engine = "postgresql"
    let path: String
    let fromVersion: Int
    let toVersion: Int
    let seconds: Double
    let migrations: [AppliedMigration]
    /// With --online: each step's duration, lock and retries.
    let online: PostgresOnlineReport?

    var text: String {
        var lines: [String] = []
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

    private enum CodingKeys: String, CodingKey { case engine, path, fromVersion, toVersion, seconds, migrations, online }
}
