import Foundation
import GRDB

/// Plans, applies and checks the shipped migrations on database files.
///
/// Each migration runs as GRDB does it: `PRAGMA foreign_keys = OFF` outside the
/// transaction, `BEGIN IMMEDIATE`, the change, the history row, verification,
/// `COMMIT`; any failure rolls back and the first error is the one rethrown.
public struct Migrator: Sendable {
    public let catalog: MigrationCatalog
    public let toolVersion: String

    public init(catalog: MigrationCatalog, toolVersion: String) {
        self.catalog = catalog
        self.toolVersion = toolVersion
    }

    // MARK: Status

    public func status(path: String) throws -> DatabaseStatus {
        let queue = try DatabaseFile.open(path, access: .readOnly)
        return try queue.read { db in try inspect(db, path: path) }
    }

    func inspect(_ db: Database, path: String) throws -> DatabaseStatus {
        let journalMode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "unknown"
        if try MigrationHistory.exists(db) {
            let applied = try MigrationHistory.read(db)
            let versions = Set(applied.map(\.version))
            let current = versions.max() ?? 0
            let unknown = applied.map(\.version).filter { catalog.script(version: $0) == nil }
            let mismatched = applied.filter { entry in
                catalog.script(version: entry.version).map { $0.checksum != entry.checksum } ?? false
            }.map(\.version)
            let missing = current > 0 ? (1...current).filter { !versions.contains($0) } : []
            return DatabaseStatus(
                path: path, currentVersion: current, latestVersion: catalog.latestVersion, isManaged: true,
                applied: applied, pending: pending(after: current), unknownVersions: unknown,
                checksumMismatches: mismatched, missingVersions: missing, journalMode: journalMode)
        }
        let version = try fingerprintVersion(db, path: path)
        return DatabaseStatus(
            path: path, currentVersion: version, latestVersion: catalog.latestVersion, isManaged: false,
            applied: [], pending: pending(after: version), unknownVersions: [], checksumMismatches: [],
            missingVersions: [], journalMode: journalMode)
    }

    private func pending(after version: Int) -> [DatabaseStatus.Pending] {
        catalog.scripts.filter { $0.version > version }.map { .init(version: $0.version, name: $0.name) }
    }

    /// The version an unmanaged database's schema matches (the highest, when an
    /// operator's additions make it match several); refuses one that matches none.
    func fingerprintVersion(_ db: Database, path: String) throws -> Int {
        let actual = try SchemaFingerprint.read(db)
        guard !actual.tables.isEmpty else {
            throw MigrationError(.unusableInput, "\(path) has no tables: it is not a deployer database. Check the path; `vmdb init --db NEW_PATH` creates a new database")
        }
        var closest: (version: Int, differences: [String])?
        for script in catalog.scripts.reversed() {
            let reference = try referenceFingerprint(version: script.version)
            let differences = reference.differences(in: actual)
            if differences.isEmpty { return script.version }
            if closest == nil || differences.count < closest!.differences.count {
                closest = (script.version, differences)
            }
        }
        let list = closest.map { closest in
            let more = closest.differences.count > 12 ? "; and \(closest.differences.count - 12) more" : ""
            return "closest is v\(closest.version): " + closest.differences.prefix(12).joined(separator: "; ") + more
        } ?? ""
        throw MigrationError(.unusableInput, "the schema of \(path) matches no known version (\(list)). Nothing was changed; if this is a deployer database, report these differences")
    }

    private func referenceFingerprint(version: Int) throws -> SchemaFingerprint {
        try referenceDatabase(version: version).read { try SchemaFingerprint.read($0) }
    }

    /// An empty in-memory database migrated to `version`: what a fresh install looks like.
    public func referenceDatabase(version: Int) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(configuration: configuration)
        try queue.writeWithoutTransaction { db in
            for script in catalog.scripts where script.version <= version {
                _ = try apply(db, script: script, parameters: [:], level: .counts, baseline: nil,
                              backupSHA256: nil, log: nil, progress: nil)
            }
        }
        return queue
    }

    // MARK: Creating

    /// Creates a new database at `path` at `version` (default: latest), in WAL mode.
    public func createDatabase(path: String, version: Int? = nil) throws {
        let target = version ?? catalog.latestVersion
        guard (1...catalog.latestVersion).contains(target) else {
            throw MigrationError(.usage, "version \(target) does not exist: this vmdb ships versions 1…\(catalog.latestVersion)")
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

    // MARK: Planning

    /// The exact SQL `migrate` would run, found by running it on an empty copy of the schema.
    public func plan(path: String, to version: Int? = nil, parameters: MigrationParameters = [:]) throws -> MigrationPlan {
        let source = try DatabaseFile.open(path, access: .readOnly)
        let status = try source.read { try inspect($0, path: path) }
        try status.requireConsistentHistory()
        let target = try targetVersion(version, status: status)
        let clone = try schemaClone(of: source)
        var entries: [MigrationPlan.Entry] = []
        try clone.writeWithoutTransaction { db in
            var baseline = status.isManaged ? nil : Optional(status.currentVersion)
            for script in catalog.scripts where script.version > status.currentVersion && script.version <= target {
                let statements = StatementRecorder()
                _ = try apply(db, script: script, parameters: parameters, level: .full, baseline: baseline,
                              backupSHA256: nil, log: statements.record, progress: nil, checkParameters: false)
                baseline = nil
                entries.append(.init(version: script.version, name: script.name, checksum: script.checksum, statements: statements.all))
            }
        }
        let names = Set(catalog.scripts.filter { $0.version > status.currentVersion && $0.version <= target }
            .flatMap { $0.definition.parameters.map(\.name) })
        return MigrationPlan(path: path, fromVersion: status.currentVersion, toVersion: target,
                             baselinedVersion: status.isManaged ? nil : status.currentVersion,
                             parameters: names.sorted(), migrations: entries)
    }

    private func targetVersion(_ requested: Int?, status: DatabaseStatus) throws -> Int {
        let target = requested ?? catalog.latestVersion
        guard (1...catalog.latestVersion).contains(target) else {
            throw MigrationError(.usage, "version \(target) does not exist: this vmdb ships versions 1…\(catalog.latestVersion)")
        }
        guard target >= status.currentVersion else {
            throw MigrationError(.usage, "\(status.path) is at version \(status.currentVersion), above --to \(target): migrations only go forward. To go back, restore the backup taken before the migration (vmdb restore)")
        }
        return target
    }

    /// An in-memory database with the same schema (and statistics) and no rows.
    private func schemaClone(of source: DatabaseQueue) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let clone = try DatabaseQueue(configuration: configuration)
        let (objects, history, statistics) = try source.read { db -> ([SchemaObject], [AppliedMigration], [Row]) in
            let stat = try db.tableExists("sqlite_stat1") ? try Row.fetchAll(db, sql: "SELECT tbl, idx, stat FROM sqlite_stat1") : []
            return (try SchemaSnapshot.read(db).objects, try MigrationHistory.read(db), stat)
        }
        try clone.writeWithoutTransaction { db in
            for object in objects { if let sql = object.sql { try db.execute(sql: sql) } }
            for entry in history { try MigrationHistory.record(db, entry, log: nil) }
            if !statistics.isEmpty {
                try db.execute(sql: "ANALYZE")
                for row in statistics {
                    try db.execute(sql: "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", arguments: [row["tbl"], row["idx"], row["stat"]])
                }
            }
        }
        return clone
    }

    // MARK: Migrating

    /// Applies the pending migrations to the file at `path`: lock, checks,
    /// disk-space preflight, backup, then each migration in its own transaction.
    public func migrate(path: String, options: MigrationOptions) throws -> MigrationRunReport {
        let watch = Stopwatch()
        try DatabaseFile.checkExisting(path)
        let lock = try MigratorLock(databasePath: path, purpose: "vmdb migrate")
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
        guard !scripts.isEmpty || baseline != nil else {
            return MigrationRunReport(path: path, fromVersion: status.currentVersion, toVersion: status.currentVersion,
                                      baselinedVersion: nil, backup: nil, migrations: [], seconds: watch.elapsedSeconds)
        }
        if let first = scripts.first {
            try queue.read { db in try checkParameters(db, script: first, parameters: options.parameters) }
            try checkDiskSpace(queue, path: path, scripts: scripts, options: options)
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
                                  baselinedVersion: baseline, backup: backup, migrations: results, seconds: watch.elapsedSeconds)
    }

    private func applyPending(_ queue: DatabaseQueue, scripts: [MigrationScript], baseline: Int?, backup: BackupRecord?,
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
            for script in scripts {
                results.append(try apply(db, script: script, parameters: options.parameters, level: options.verification,
                                         baseline: pendingBaseline, backupSHA256: backup?.sha256,
                                         log: options.statementLog, progress: options.progress, snapshotReader: snapshotReader))
                pendingBaseline = nil
            }
            return results
        }
    }

    private func checkParameters(_ db: Database, script: MigrationScript, parameters: MigrationParameters) throws {
        for parameter in script.definition.parameters where parameters[parameter.name] == nil {
            let needed = try db.count(parameter.neededWhen, parameters: parameters)
            if needed > 0 {
                let flag = "--" + parameter.name.replacingOccurrences(of: "_", with: "-")
                throw MigrationError(.usage, "migration \(script.version) (\(script.name)) needs \(flag): \(needed) \(parameter.description). State the one they belong to, e.g. \(flag) main; vmdb never guesses it. Nothing was changed")
            }
        }
    }

    /// Refuses early when the filesystem cannot hold the backup, the new tables and the WAL.
    private func checkDiskSpace(_ queue: DatabaseQueue, path: String, scripts: [MigrationScript], options: MigrationOptions) throws {
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
                throw MigrationError(.diskFull, "not enough disk space to migrate \(path): it needs about \(DiskSpace.describe(need)) (\(options.takesBackup && sameFilesystem ? "backup, " : "")new tables, WAL), \(DiskSpace.describe(free)) is free. Free space or put the backup elsewhere (--backup-dir); nothing was changed")
            }
        }
        if !sameFilesystem, backupNeed > 0, let free = DiskSpace.available(inFolderOf: backupFolderPath), free < backupNeed {
            throw MigrationError(.diskFull, "not enough space in \(options.backupDirectory!) for the backup: it needs about \(DiskSpace.describe(backupNeed)), \(DiskSpace.describe(free)) is free; nothing was changed")
        }
    }

    private func stampBaseline(_ db: Database, version: Int, log: ((String) -> Void)?) throws {
        for script in catalog.scripts where script.version <= version {
            try MigrationHistory.record(db, AppliedMigration(
                version: script.version, name: script.name, checksum: script.checksum, appliedAt: Timestamp.now(),
                durationMilliseconds: 0, lockMilliseconds: 0, toolVersion: toolVersion, kind: .baseline,
                verification: nil, backupSHA256: nil), log: log)
        }
    }

    /// One migration in one transaction, verified before commit.
    func apply(_ db: Database, script: MigrationScript, parameters: MigrationParameters, level: VerificationLevel,
               baseline: Int?, backupSHA256: String?, log: ((String) -> Void)?, progress: ProgressHandler?,
               checkParameters shouldCheckParameters: Bool = true, snapshotReader: DatabaseQueue? = nil) throws -> MigrationResult {
        let watch = Stopwatch()
        let foreignKeysWereOn = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
        // 1. Outside the transaction: inside one this pragma is a no-op, and a
        //    DROP TABLE with foreign keys on would fire ON DELETE CASCADE.
        log?("PRAGMA foreign_keys = OFF")
        try db.execute(sql: "PRAGMA foreign_keys = OFF")
        defer { if foreignKeysWereOn { try? db.execute(sql: "PRAGMA foreign_keys = ON") } }
        guard try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") == false else {
            throw MigrationError(.internalFailure, "foreign keys could not be turned off before migration \(script.version); nothing was changed")
        }
        // 2. BEGIN IMMEDIATE: take the write lock now, not at the first write.
        log?("BEGIN IMMEDIATE")
        try db.execute(sql: "BEGIN IMMEDIATE")
        let lockWatch = Stopwatch()
        do {
            let recorded = try MigrationHistory.exists(db) ? try MigrationHistory.read(db).map(\.version).max() ?? 0 : (baseline ?? 0)
            guard recorded == script.version - 1 || (baseline != nil && recorded == baseline) else {
                throw MigrationError(.busy, "the database moved to version \(recorded) while this run waited (another migrator?); nothing was changed. Run `vmdb status`")
            }
            if let baseline { try stampBaseline(db, version: baseline, log: log) }
            if shouldCheckParameters { try checkParameters(db, script: script, parameters: parameters) }
            var runner = MigrationRunner(script: script, parameters: parameters, level: level, log: log, progress: progress)
            runner.snapshotReader = snapshotReader
            let verification = try runner.run(db)
            guard verification.passed else {
                throw MigrationError(.verificationFailed, "migration \(script.version) (\(script.name)) failed verification on \(db.configuration.label ?? "the database") and was rolled back; the database is as it was: " + verification.failures.joined(separator: "; "), verification: verification)
            }
            let result = MigrationResult(version: script.version, name: script.name, seconds: watch.elapsedSeconds,
                                         lockSeconds: lockWatch.elapsedSeconds, verification: verification)
            try MigrationHistory.record(db, AppliedMigration(
                version: script.version, name: script.name, checksum: script.checksum, appliedAt: Timestamp.now(),
                durationMilliseconds: watch.elapsedMilliseconds, lockMilliseconds: lockWatch.elapsedMilliseconds,
                toolVersion: toolVersion, kind: .applied, verification: verification, backupSHA256: backupSHA256), log: log)
            log?("COMMIT")
            let commitWatch = Stopwatch()
            progress?(.started(phase: "commit", total: nil))
            try db.execute(sql: "COMMIT")
            progress?(.finished(phase: "commit", seconds: commitWatch.elapsedSeconds))
            return MigrationResult(version: result.version, name: result.name, seconds: watch.elapsedSeconds,
                                   lockSeconds: lockWatch.elapsedSeconds, verification: verification)
        } catch {
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
            throw MigrationError.wrapping(error, path: db.configuration.label ?? "the database", doing: "applying migration \(script.version) (\(script.name))")
        }
    }
}

/// Collects statements for a plan; `@unchecked Sendable` because it is only
/// used from the one connection's serial queue.
final class StatementRecorder: @unchecked Sendable {
    private(set) var all: [String] = []
    func record(_ sql: String) { all.append(sql) }
}
