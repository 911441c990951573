import CSQLiteSettings
import Foundation
import GRDB
import SQLiteFiles

/// Plans, applies and checks the shipped migrations on database files.
///
/// Each migration runs as GRDB does it: `PRAGMA foreign_keys = OFF` outside the
/// transaction, `BEGIN IMMEDIATE`, the change, the history row, verification,
/// `COMMIT`; any failure rolls back and the first error is the one rethrown.
public struct Migrator: Sendable {
    public let catalog: MigrationCatalog
    public let toolVersion: String
    public let configuration: MigratorConfiguration

    /// - Parameters:
    ///   - toolVersion: recorded in each history row, and compared with rows a newer tool wrote.
    ///   - configuration: the names this migrator uses in and beside the database.
    public init(catalog: MigrationCatalog, toolVersion: String, configuration: MigratorConfiguration = MigratorConfiguration()) {
        self.catalog = catalog
        self.toolVersion = toolVersion
        self.configuration = configuration
    }

    var history: MigrationHistory { MigrationHistory(configuration) }

    /// The schema without this migrator's bookkeeping.
    func readSchema(_ db: Database) throws -> SchemaSnapshot {
        try SchemaSnapshot.read(db, excludingPrefix: configuration.bookkeepingPrefix)
    }

    // MARK: Migrating

    /// Applies the pending migrations to the file at `path`: lock, checks,
    /// disk-space preflight, backup, then each migration in its own transaction.
    ///
    /// - Throws: ``MigrationError``, and then the database is as it was: `noSuchDatabase`, `notADatabase`, `readOnlyFile`, `readOnlyFolder`, `missingParameter`, `emptySchema`, `newerDatabase`, `inconsistentHistory`, `unknownSchema`, `unreadableSchema`, `schemaConflict` (an object of the operator's the migration cannot run with or would leave broken, named in `object`), `rowsNotCarried`, `locked`, `migratorRunning`, `concurrentMigration`, `outOfSpace`, `ioError`, `failedVerification` (rolled back; the error carries the verification record), `dataConflict` (the rows make the migration's own data steps break a rule of the operator's, named; rolled back).
    public func migrate(path: String, options: MigrationOptions) throws -> MigrationRunReport {
        return try MigrationError.translatingFileErrors(path: path, doing: "migrating") {
            let watch = Stopwatch()
            try DatabaseFile.checkExisting(path)
            let lock = try MigratorLock(databasePath: path, suffix: configuration.lockFileSuffix, purpose: "migrate")
            defer { withExtendedLifetime(lock) {} }
            let queue = try DatabaseFile.open(path, busyTimeout: options.busyTimeout) { db in
                // The pages the old tables free hold the same data the new tables
                // hold; zeroing them (Debian builds SQLite with secure_delete) costs
                // a third of the floor's time and protects nothing.
                try db.execute(sql: "PRAGMA secure_delete = OFF")
                // 8 MiB: the copy streams, so a bigger cache buys little, and the
                // index sorts take as much again (peak memory stays under 64 MiB).
                try db.execute(sql: "PRAGMA cache_size = -8192")
            }
            let status = try queue.read { try inspect($0, path: path) }
            try status.requireConsistentHistory()
            let target = try targetVersion(options.targetVersion, status: status)
            let scripts = catalog.scripts.filter { $0.version > status.currentVersion && $0.version <= target }
            let baseline = status.isManaged ? nil : Optional(status.currentVersion)
            // The checks that read only, before an earlier online run's leftovers are finished
            // or undone (a write), so that their refusals' "Nothing was changed" holds. They
            // read the schema without the online run's objects (the bookkeeping prefix, by
            // name and by table), so they see it as it will be once the leftovers are gone.
            if let first = scripts.first {
                try queue.read { db in
                    try checkParameters(db, script: first, parameters: options.parameters)
                    if !options.preflightDone { try preflight(db, scripts: scripts, parameters: options.parameters) }
                }
                if !options.preflightDone {
                    let (_, notRehearsed) = try rehearse(queue, status: status, scripts: scripts, parameters: options.parameters)
                    notRehearsed.forEach { options.warning?($0) }
                }
            }
            // An earlier online run's leftovers: finished (old tables emptied) or undone, unless resumed.
            let finished = try finishOnlineLeftovers(queue, path: path, options: options, next: scripts.first)
            guard !scripts.isEmpty || baseline != nil else {
                return MigrationRunReport(path: path, fromVersion: status.currentVersion, toVersion: status.currentVersion,
                                          baselinedVersion: nil, backup: nil, migrations: [], seconds: watch.elapsedSeconds,
                                          finishedEarlierRun: finished)
            }
            if !scripts.isEmpty {
                try checkDiskSpace(queue, path: path, scripts: scripts, options: options)
                if options.online != nil { try checkOnline(queue, path: path, scripts: scripts, status: status) }
            }

            var backup: BackupRecord?
            if options.takesBackup && !scripts.isEmpty {
                let destination = BackupService.backupPath(for: path, in: options.backupDirectory, version: status.currentVersion)
                backup = try BackupService.backup(queue, sourcePath: path, to: destination, progress: options.progress)
            }

            // In WAL mode a second connection can read the pre-migration snapshot
            // while the writer works (see ConcurrentCensus).
            let isWAL = try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal"
            let snapshotReader = isWAL ? try DatabaseFile.open(path, access: .readOnly, busyTimeout: options.busyTimeout) : nil
            let results: [MigrationResult]
            do {
                results = try applyPending(queue, scripts: scripts, baseline: baseline, backup: backup,
                                           options: options, snapshotReader: snapshotReader)
            } catch {
                try? snapshotReader?.close()
                throw error
            }
            // The reader first: the writer, closing last, checkpoints and removes the WAL.
            try? snapshotReader?.close()
            try? queue.close()
            return MigrationRunReport(path: path, fromVersion: status.currentVersion, toVersion: scripts.last?.version ?? status.currentVersion,
                                      baselinedVersion: baseline, backup: backup, migrations: results, seconds: watch.elapsedSeconds,
                                      finishedEarlierRun: finished)
        }
    }

    func applyPending(_ queue: DatabaseQueue, scripts: [MigrationScript], baseline: Int?, backup: BackupRecord?,
                              options: MigrationOptions, snapshotReader: DatabaseQueue?) throws -> [MigrationResult] {
        try queue.writeWithoutTransaction { db in
            if scripts.isEmpty, let baseline {
                try db.inTransaction(.immediate) {
                    try stampBaseline(db, version: baseline, log: options.statementLog)
                    return .commit
                }
            }
            var results: [MigrationResult] = []
            var pendingBaseline = baseline
            for (index, script) in scripts.enumerated() {
                if let settings = options.online {
                    // One online run's state at a time: a drain is left only when no later
                    // migration of this run recreates tables (the others run beside it).
                    let isLastOnline = !scripts[(index + 1)...].contains { !$0.definition.recreations.isEmpty }
                    let result = try applyOnline(db, script: script, options: options, settings: settings, baseline: pendingBaseline,
                                                 backupSHA256: backup?.sha256, path: db.configuration.label ?? "the database",
                                                 reader: snapshotReader, drainNow: settings.drain == .now || !isLastOnline)
                    results.append(result)
                    // What stopped the drain (a deployer holding the lock, a full disk) would stop
                    // the next migration too: stop here, saying this one is applied.
                    if let stopped = result.pendingDrain?.interruption, index < scripts.count - 1 {
                        let next = scripts[index + 1].version, last = scripts[scripts.count - 1].version
                        throw MigrationError(.locked, "migration \(script.version) (\(script.name)) is applied: the deployer writes version \(script.version) since its cut-over. Emptying its old tables then stopped (\(stopped)), so \(next == last ? "migration \(next) was" : "migrations \(next) to \(last) were") not started. Run the migration again: it empties the old tables first, then goes on",
                                             path: db.configuration.label, version: script.version)
                    }
                } else {
                    results.append(try apply(db, script: script, parameters: options.parameters, level: options.verification,
                                             baseline: pendingBaseline, backupSHA256: backup?.sha256,
                                             log: options.statementLog, progress: options.progress, snapshotReader: snapshotReader))
                }
                pendingBaseline = nil
            }
            return results
        }
    }

    func checkParameters(_ db: Database, script: MigrationScript, parameters: MigrationParameters) throws {
        for parameter in script.definition.parameters where parameters[parameter.name] == nil {
            let needed = try db.count(parameter.neededWhen, parameters: parameters)
            if needed > 0 {
                // The caller names the option that supplies it (vmdb: --default-network).
                throw MigrationError(.missingParameter, "migration \(script.version) (\(script.name)) needs the parameter \(parameter.name): \(needed) \(parameter.description), and it is never guessed. Nothing was changed",
                                     parameter: parameter.name, version: script.version)
            }
        }
    }

    func stampBaseline(_ db: Database, version: Int, log: ((String) -> Void)?) throws {
        for script in catalog.scripts where script.version <= version {
            try history.record(db, AppliedMigration(
                version: script.version, name: script.name, checksum: script.checksum, appliedAt: UTCTimestamp.now(),
                durationMilliseconds: 0, lockMilliseconds: 0, toolVersion: toolVersion, kind: .baseline,
                verification: nil, backupSHA256: nil, keepsStoreCompatibleFrom: script.definition.keepsStoreCompatibleFrom), log: log)
        }
    }

    /// One migration in one transaction, verified before commit.
    func apply(_ db: Database, script: MigrationScript, parameters: MigrationParameters, level: VerificationLevel,
               baseline: Int?, backupSHA256: String?, log: ((String) -> Void)?, progress: ProgressHandler?,
               checkParameters shouldCheckParameters: Bool = true, snapshotReader: DatabaseQueue? = nil,
               scopesToWrittenTables: Bool = false) throws -> MigrationResult {
        let watch = Stopwatch()
        let foreignKeysWereOn = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
        // 1. Outside the transaction: inside one this pragma is a no-op, and a
        //    DROP TABLE with foreign keys on would fire ON DELETE CASCADE.
        log?("PRAGMA foreign_keys = OFF")
        try db.execute(sql: "PRAGMA foreign_keys = OFF")
        defer { if foreignKeysWereOn { try? db.execute(sql: "PRAGMA foreign_keys = ON") } }
        guard try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") == false else {
            throw MigrationError(.unexpectedFailure, "foreign keys could not be turned off before migration \(script.version); nothing was changed")
        }
        // The migration's own data steps (v1->v2 fills the network, v3 fixes empty ones)
        // must not fire the operator's triggers: an audit trigger would log a row per
        // VM and fail the census, a RAISE would abort the run. Triggers stay defined;
        // only this connection stops firing them, as PostgreSQL's
        // session_replication_role = replica does for bulk loads. The deployer's own
        // connections are untouched.
        log?("-- triggers off on this connection (SQLITE_DBCONFIG_ENABLE_TRIGGER = 0)")
        guard vmdb_sqlite_enable_triggers(db.sqliteConnection, 0) == 0 else {
            throw MigrationError(.unexpectedFailure, "triggers could not be turned off before migration \(script.version); nothing was changed")
        }
        defer { _ = vmdb_sqlite_enable_triggers(db.sqliteConnection, 1) }
        // No automatic checkpoint inside COMMIT: it runs after the lock is released (below).
        let autoCheckpoint = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 1000
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        defer { try? db.execute(sql: "PRAGMA wal_autocheckpoint = \(autoCheckpoint)") }
        // 2. BEGIN IMMEDIATE: take the write lock now, not at the first write.
        log?("BEGIN IMMEDIATE")
        do {
            try db.execute(sql: "BEGIN IMMEDIATE")
        } catch {
            throw MigrationError.wrapping(error, path: db.configuration.label ?? "the database", doing: "waiting for the write lock before migration \(script.version)")
        }
        let lockWatch = Stopwatch()
        do {
            let recorded = try history.exists(db) ? try history.read(db, toolVersion: toolVersion).map(\.version).max() ?? 0 : (baseline ?? 0)
            guard recorded == script.version - 1 || (baseline != nil && recorded == baseline) else {
                throw MigrationError(.concurrentMigration, "the database moved to version \(recorded) while this run waited (another migrator?); nothing was changed", version: recorded)
            }
            if let baseline { try stampBaseline(db, version: baseline, log: log) }
            if shouldCheckParameters { try checkParameters(db, script: script, parameters: parameters) }
            var runner = MigrationRunner(script: script, parameters: parameters, level: level, log: log, progress: progress,
                                         bookkeepingPrefix: configuration.bookkeepingPrefix)
            runner.snapshotReader = snapshotReader
            runner.scopesToWrittenTables = scopesToWrittenTables
            let verification = try runner.run(db)
            guard verification.passed else {
                throw MigrationError(.failedVerification, "migration \(script.version) (\(script.name)) failed verification on \(db.configuration.label ?? "the database") and was rolled back; the database is as it was: " + verification.failures.joined(separator: "; "),
                                     path: db.configuration.label, version: script.version, verification: verification)
            }
            try history.record(db, AppliedMigration(
                version: script.version, name: script.name, checksum: script.checksum, appliedAt: UTCTimestamp.now(),
                durationMilliseconds: watch.elapsedMilliseconds, lockMilliseconds: lockWatch.elapsedMilliseconds,
                toolVersion: toolVersion, kind: .applied, verification: verification, backupSHA256: backupSHA256,
                keepsStoreCompatibleFrom: script.definition.keepsStoreCompatibleFrom), log: log)
            log?("COMMIT")
            let commitWatch = Stopwatch()
            progress?(.started(phase: "commit", total: nil))
            try db.execute(sql: "COMMIT")
            progress?(.finished(phase: "commit", seconds: commitWatch.elapsedSeconds))
            let lockSeconds = lockWatch.elapsedSeconds
            // Copying the WAL into the file needs no write lock: the deployer
            // writes again while this runs, so it is not part of the lock time.
            let checkpointWatch = Stopwatch()
            progress?(.started(phase: "checkpoint (the deployer can write again)", total: nil))
            log?("PRAGMA wal_checkpoint(PASSIVE)")
            _ = try? Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            progress?(.finished(phase: "checkpoint (the deployer can write again)", seconds: checkpointWatch.elapsedSeconds))
            return MigrationResult(version: script.version, name: script.name, seconds: watch.elapsedSeconds,
                                   lockSeconds: lockSeconds, verification: verification)
        } catch {
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
            if let conflict = DataConflict.refusal(db, error, script: script) { throw conflict }
            let path = db.configuration.label ?? "the database"
            throw MigrationError.wrapping(error, path: path, doing: "applying migration \(script.version) (\(script.name))")
                .inContext(path: db.configuration.label, version: script.version)
        }
    }

    /// The refusal of a version the catalog does not ship.
    func noSuchVersion(_ version: Int) -> MigrationError {
        MigrationError(.noSuchVersion, "version \(version) does not exist: the catalog has versions 1…\(catalog.latestVersion)", version: version)
    }

    func targetVersion(_ requested: Int?, status: DatabaseStatus) throws -> Int {
        let target = requested ?? catalog.latestVersion
        guard (1...catalog.latestVersion).contains(target) else {
            throw noSuchVersion(target)
        }
        guard target >= status.currentVersion else {
            throw MigrationError(.versionBehind, "\(status.path) is at version \(status.currentVersion), above the requested \(target): migrations only go forward", path: status.path, version: target)
        }
        return target
    }
}

/// Collects statements for a plan, on the one connection that runs it.
final class StatementRecorder {
    private(set) var all: [String] = []
    func record(_ sql: String) { all.append(sql) }
}
