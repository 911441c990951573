import Foundation
import GRDB
import SQLiteFiles
import VMStore

/// Where the daemons' truth comes from.
public enum InventorySource: Sendable, Hashable {
    /// A saved `list_vms` answer; `network` is the operator's, for files that do not state one.
    case file(path: String, network: String?)
    /// A daemon asked live.
    case daemon(DaemonConfiguration.Daemon)
}

/// How a repair runs.
public struct RepairOptions: Sendable {
    /// The id field for every inventory; nil: each daemon's configured field, else `vm_id`, `sid`, `id`.
    public var idField: String?
    /// Record the orphans (after a backup); otherwise only report.
    public var apply = false
    /// Take a backup before recording (default on, as `migrate`): on a SQLite file, an online
    /// backup beside it (or in ``backupDirectory``); on another engine, ``takeBackup`` does it.
    public var takesBackup = true
    /// How a store not on a SQLite file (PostgreSQL) is backed up before recording, when
    /// ``takesBackup``; the record it returns goes in the report. Without it such a run refuses
    /// to record rather than record without the backup it was asked for.
    public var takeBackup: (@Sendable () throws -> BackupRecord?)?
    /// Where the backup goes; default: the database's folder.
    public var backupDirectory: String?
    /// The most findings of each kind listed in the report (all are counted); nil lists all.
    public var listLimit: Int? = 1000
    /// How long a write waits for the deployer's write lock, in seconds.
    public var busyTimeout: Double = 5
    /// A pending provision intent younger than this (seconds) is left alone, lease or not.
    public var intentMinimumAge: Double = 60
    /// A pending intent whose request id no inventory lists is abandoned only when an
    /// earlier scan, at least this long ago (seconds), missed it too: inventories can lag.
    public var intentAbandonInterval: Double = 300
    /// The clock behind the audit rows' `recorded_at`, and the intents' ages and leases.
    public var clock: @Sendable () -> Date = { Date() }
    public var progress: ProgressHandler?

    public init() {}
}

/// One run of repair on one database: read the inventories into temporary
/// tables, compare them with the store in SQL, report, and with ``RepairOptions/apply``
/// record the orphans and resolve the provision intents, with their audit rows, in one
/// transaction after a backup.
///
/// On a SQLite file the analysis reads the file itself, on a read-only connection; on
/// another engine (PostgreSQL) it reads a copy of the store's records, taken in one snapshot
/// into a private SQLite file (``StoreCopy``): the same SQL finds the same findings. Every
/// write goes through the store's writer, on either engine.
///
/// Report mode writes nothing to the database.
public struct RepairSession: Sendable {
    /// The database, for messages and the report: the file's path, or the URL with its password masked.
    public let databasePath: String
    public let options: RepairOptions
    /// The caller's store, or nil: the session opens the file at ``databasePath`` to record.
    private let store: VMStore?

    /// Repair of the SQLite file at `databasePath`; the session opens its own store to record
    /// (with the options' busy timeout and clock).
    public init(databasePath: String, options: RepairOptions = RepairOptions()) {
        self.databasePath = databasePath
        self.options = options
        self.store = nil
    }

    /// Repair of the database under `store`, on either engine (`VMStore(path:)`, `VMStore(postgres:)`):
    /// the store's own busy timeout and clock apply to its writes (the options' clock still dates the
    /// audit rows and ages the intents). The caller closes the store.
    public init(store: VMStore, options: RepairOptions = RepairOptions()) {
        self.databasePath = store.path
        self.options = options
        self.store = store
    }

    /// Runs the comparison (and the recording, with `apply`), suspending meanwhile.
    ///
    /// The work is seconds of blocking SQLite and socket calls, so it runs on a
    /// thread of its own, never on the cooperative pool: the calling task
    /// suspends, and no pool thread is held.
    ///
    /// - Throws: ``RepairError`` alone: its ``RepairError/kind`` says what
    ///   happened (malformed inventory, duplicate ids, daemon unreachable,
    ///   database missing, unusable or not at a version repair works on, busy,
    ///   disk full); nothing was recorded unless the report says so.
    public func run(_ sources: [InventorySource]) async throws -> RepairReport {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RepairReport, any Error>) in
            let thread = Thread { continuation.resume(with: Result { try run(sources) }) }
            thread.name = "vmdb-repair"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// The same run for synchronous callers, blocking the calling thread: call
    /// it from a thread of your own (a command's main thread, a test), never
    /// from a task of the cooperative pool.
    ///
    /// - Throws: ``RepairError`` alone (see ``run(_:)-(_)``).
    public func run(_ sources: [InventorySource]) throws -> RepairReport {
        do {
            return try compare(sources)
        } catch let error as RepairError {
            throw error
        } catch let error as StoreError {
            throw Self.translate(error, path: databasePath)
        } catch {
            throw Self.translate(SQLiteFileError.wrapping(error, path: databasePath, doing: "comparing the inventories with the store"))
        }
    }

    private func compare(_ sources: [InventorySource]) throws -> RepairReport {
        let start = DispatchTime.now()
        guard !sources.isEmpty else {
            throw RepairError(.usage, "nothing to compare with: give --inventory FILE… or --daemons CONFIG")
        }
        // A store on another engine is read into a copy once the inventories are in, as the
        // file is read then: a VM the deployer records while the daemons answer is no orphan.
        // (Such a store refused, when it opened, a version it cannot read and write; PostgreSQL's start at v3.)
        let copy = try store.flatMap { $0.sqliteFilePath == nil ? try StoreCopy() : nil }
        let analysis = try copy?.analysis ?? openAnalysisConnection()
        defer { if copy == nil { try? analysis.close() } }
        if copy == nil {
            try analysis.inDatabase { db in try Self.requireCurrentSchema(db, path: databasePath) }
        }

        var report = RepairReport(database: databasePath, mode: options.apply ? "apply" : "report", sources: [],
                                  networksChecked: [], networksNotChecked: [])
        let loadStart = DispatchTime.now()
        options.progress?(.started(phase: "read inventories", total: sources.count))
        let table = try analysis.inDatabase { db in try InventoryTable(db) }
        let spool = try AnswerSpool()
        for (offset, source) in sources.enumerated() {
            report.sources.append(try load(source, into: table, analysis: analysis, spool: spool))
            options.progress?(.advanced(phase: "read inventories", done: offset + 1, total: sources.count))
        }
        try analysis.inDatabase { db in try table.index() }
        report.inventorySeconds = Self.seconds(since: loadStart)
        options.progress?(.finished(phase: "read inventories", seconds: report.inventorySeconds))
        report.networksChecked = Array(Set(report.sources.map(\.network))).sorted()
        if let copy, let store { try copy.fill(from: store) }

        let hasIntents = try analysis.inDatabase { db in try IntentReconciler.hasIntents(db) }
        try analysis.inDatabase { db in
            if hasIntents { try table.indexRequestIDs() }
            // One read transaction: every finding comes from the same snapshot of the store.
            try db.inTransaction(.deferred) {
                var reconciler = Reconciler(listLimit: options.listLimit)
                reconciler.hasIntents = hasIntents
                try reconciler.reconcile(db, into: &report)
                if hasIntents {
                    report.intents = try IntentReconciler(minimumAge: options.intentMinimumAge, abandonInterval: options.intentAbandonInterval,
                                                          clock: options.clock).reconcile(db)
                }
                return .commit
            }
        }

        if options.apply {
            report.applied = try record(report, analysis: analysis)
        }
        report.seconds = Self.seconds(since: start)
        return report
    }

    // MARK: Steps

    /// A read-only connection whose temporary tables go to a file, not memory.
    private func openAnalysisConnection() throws -> DatabaseQueue {
        try DatabaseFile.open(databasePath, access: .readOnly, busyTimeout: options.busyTimeout) { db in
            try db.execute(sql: "PRAGMA temp_store = FILE")
            // Bounded page caches (in KiB): memory stays flat whatever the inventory's size.
            try db.execute(sql: "PRAGMA main.cache_size = -8192")
            try db.execute(sql: "PRAGMA temp.cache_size = -16384")
        }
    }

    /// The oldest version repair works on: where a VM is identified by (network, vm_id).
    /// Provision intents are resolved from v4 on; a v3 file is repaired as before.
    static let oldestVersion = 3

    /// Repair works on the schemas the store opens from v3 on (or a later one that
    /// keeps the store working), and never migrates.
    static func requireCurrentSchema(_ db: Database, path: String) throws {
        let version = try db.tableExists("vmdb_migrations")
            ? try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") : nil
        guard let version else {
            throw RepairError(.databaseNotCurrent, "\(path) has no vmdb migration history, so its schema version is unknown: repair needs version \(oldestVersion) or later. Migrate first: `vmdb migrate --db \(path)` (it takes a backup), then run repair again. Nothing was changed")
        }
        if version < oldestVersion {
            throw RepairError(.databaseNotCurrent, "\(path) is at schema version \(version); repair needs version \(oldestVersion) or later, where a VM is identified by (network, vm_id). Migrate first: `vmdb migrate --db \(path)` (it takes a backup), then run repair again. Nothing was changed")
        }
        if version > VMStore.schemaVersion {
            // A later version that promised to keep this store working is repaired as the store
            // reads and writes it (the columns repair uses are the store's); any other is refused.
            do {
                _ = try VMStore.checkSchemaVersion(db, path: path)
            } catch let error as StoreError {
                throw RepairError(.databaseNewer, "\(error). Use the vmdb that migrated it. Nothing was changed")
            }
        }
    }

    private func load(_ source: InventorySource, into table: InventoryTable, analysis: DatabaseQueue,
                      spool: AnswerSpool) throws -> RepairReport.Source {
        let loader: InventoryLoader
        switch source {
        case .file(let path, let network):
            loader = InventoryLoader(label: "file \(path)", path: path, statedNetwork: network, requiredNetwork: nil,
                                     idField: idFieldRule(configured: nil), isDaemonAnswer: false)
        case .daemon(let daemon):
            // The answer goes to a file, so entries are read back by byte range like a saved inventory's.
            let path = try spool.save(try DaemonClient().listVMs(from: daemon), for: daemon.network)
            loader = InventoryLoader(label: "daemon \(daemon.endpoint)", path: path, statedNetwork: daemon.network,
                                     requiredNetwork: daemon.network, idField: idFieldRule(configured: daemon.idField),
                                     isDaemonAnswer: true, daemon: daemon)
        }
        guard let file = fopen(loader.path, "rb") else {
            throw RepairError(.malformedInput, "cannot read the inventory \(loader.path) (\(String(cString: strerror(errno)))): check the path and its permissions")
        }
        defer { fclose(file) }
        var reader = JSONByteReader { buffer in
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 && ferror(file) != 0 {
                throw RepairError(.malformedInput, "reading the inventory \(loader.path) failed (\(String(cString: strerror(errno))))")
            }
            return count
        }
        return try analysis.inDatabase { db in try loader.load(&reader, into: table, db) }
    }

    private func idFieldRule(configured: String?) -> IDFieldRule {
        if let field = options.idField ?? configured { return .only(field) }
        return .standard
    }

    /// Backup, then every orphan and its audit row, and the provision intents' resolutions, in
    /// one store transaction: all of them commit together, or none does.
    private func record(_ report: RepairReport, analysis: DatabaseQueue) throws -> RepairReport.Applied {
        guard report.counts.orphans > 0 || report.intents?.needsWrite == true else { return RepairReport.Applied() }
        let backup = try takeBackup(analysis)
        options.progress?(.started(phase: "record orphans", total: report.counts.orphans))
        let recordStart = DispatchTime.now()
        var applied: RepairReport.Applied
        do {
            let store = try self.store ?? VMStore(path: databasePath, options: VMStore.Options(busyTimeout: options.busyTimeout, clock: options.clock))
            defer { if self.store == nil { try? store.close() } }
            applied = try analysis.inDatabase { db in
                try store.write { writer in
                    var recorder = OrphanRecorder(clock: options.clock)
                    recorder.hasIntents = report.intents != nil
                    var applied = try recorder.record(from: db, through: writer)
                    if let intents = report.intents {
                        try IntentRecorder(clock: options.clock).record(intents, from: db, through: writer, into: &applied)
                    }
                    return applied
                }
            }
        } catch let error as StoreError {
            throw Self.translate(error, path: databasePath)
        }
        options.progress?(.finished(phase: "record orphans", seconds: Self.seconds(since: recordStart)))
        applied.backup = backup
        return applied
    }

    /// The backup before recording: an online backup of the SQLite file, or the caller's for another engine.
    private func takeBackup(_ analysis: DatabaseQueue) throws -> BackupRecord? {
        guard options.takesBackup else { return nil }
        if let store, store.sqliteFilePath == nil {
            guard let takeBackup = options.takeBackup else {
                throw RepairError(.usage, "--apply takes a backup first, and repair cannot back up \(databasePath) itself: back it up (`vmdb backup --db …`), then run repair --apply with --no-backup. Nothing was changed")
            }
            return try takeBackup()
        }
        let version = try analysis.inDatabase { db in try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") } ?? VMStore.schemaVersion
        let destination = BackupService.backupPath(for: databasePath, in: options.backupDirectory, version: version)
        return try BackupService.backup(analysis, sourcePath: databasePath, to: destination, progress: options.progress)
    }

    /// A file or SQLite error in repair's terms (and exit codes), the file error kept for the command layer.
    static func translate(_ error: SQLiteFileError) -> RepairError {
        let kind: RepairError.Kind = switch error.code {
        case .noSuchDatabase, .notADatabase, .readOnlyFile, .readOnlyFolder, .cannotCreate: .unusableDatabase
        case .fileExists: .usage
        case .locked: .busy
        case .outOfSpace, .ioError: .diskFull
        case .unexpectedSQLiteError: .internalFailure
        }
        return RepairError(kind, error.message, file: error)   // its message says what was left as it was
    }

    /// The store's refusals in repair's terms (and exit codes); nothing was recorded.
    static func translate(_ error: StoreError, path: String) -> RepairError {
        switch error.code {
        case .busy:
            return RepairError(.busy, "\(error). No orphan was recorded (the backup taken is kept)")
        case .schemaTooOld, .notManaged:
            return RepairError(.databaseNotCurrent, "\(error)")
        case .unusableDatabase:
            return RepairError(.unusableDatabase, "\(error). Nothing was recorded")
        case .databaseNewer:
            return RepairError(.databaseNewer, "\(error)")
        case .databaseFailure where [13, 10].contains((error.resultCode ?? 0) & 0xff):
            // SQLITE_FULL, SQLITE_IOERR (primary codes).
            return RepairError(.diskFull, "the disk filled up or failed while recording the orphans in \(path); everything was rolled back and nothing was recorded (the backup taken is kept). Free space and retry: \(error)")
        default:
            return RepairError(.internalFailure, "recording the orphans failed and was rolled back, nothing was recorded: \(error)")
        }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
