import CSQLiteSettings
import GRDB

extension Migrator {
    /// Runs `body` with this connection's triggers on or off (SQLITE_DBCONFIG_ENABLE_TRIGGER),
    /// putting back the setting it found.
    static func withTriggers<T>(_ db: Database, enabled: Bool, _ body: () throws -> T) throws -> T {
        let was = vmdb_sqlite_enable_triggers(db.sqliteConnection, -1)   // -1: only asks
        guard was >= 0, vmdb_sqlite_enable_triggers(db.sqliteConnection, enabled ? 1 : 0) == (enabled ? 1 : 0) else {
            throw MigrationError(.unexpectedFailure, "triggers could not be turned \(enabled ? "on" : "off") on the migrator's connection; nothing was changed")
        }
        defer { _ = vmdb_sqlite_enable_triggers(db.sqliteConnection, was) }
        return try body()
    }

    /// The migrator's connection as the online path needs it, for `body`: foreign keys
    /// off (its batches must not cascade), triggers off (its writes are not the
    /// deployer's: neither the capture triggers nor the operator's fire for them),
    /// synchronous NORMAL (WAL stays consistent; a chunk lost to a power cut is copied
    /// again), and checkpoints only where it asks for them.
    func withOnlineConnection<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        let foreignKeys = try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false
        let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 2
        let autoCheckpoint = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 1000
        try db.execute(sql: "PRAGMA foreign_keys = OFF")
        try db.execute(sql: "PRAGMA synchronous = NORMAL")
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        defer {
            try? db.execute(sql: "PRAGMA wal_autocheckpoint = \(autoCheckpoint)")
            try? db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            if foreignKeys { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
        }
        return try Self.withTriggers(db, enabled: false, body)
    }

    var onlineNames: OnlineNames { OnlineNames(prefix: configuration.bookkeepingPrefix) }

    /// Finishes what an earlier online run left (emptying old tables after a cut-over,
    /// or undoing one that did not cut over), unless this run resumes it: an online run
    /// of the same migration file, next in line. Returns what it finished.
    func finishOnlineLeftovers(_ queue: DatabaseQueue, path: String, options: MigrationOptions, next: MigrationScript?) throws -> FinishedOnlineRun? {
        try queue.writeWithoutTransaction { db in
            guard let state = try OnlineState.read(db, names: onlineNames) else { return nil }
            let resumable = state.formatNumber == OnlineState.currentFormat && options.online != nil
                && next?.version == state.version && next?.checksum == state.checksum
            if state.phase.restart(resumable: resumable) == .resume { return nil }
            let settings = options.online ?? OnlineSettings()
            return try withOnlineConnection(db) {
                try OnlineCleanup(names: onlineNames, history: history, path: path, settings: settings,
                                  log: options.statementLog, progress: options.progress).finishLeftovers(db)
            }
        }
    }

    /// Undoes a failed online run and returns `failure` saying so; if the undo itself
    /// fails, says that instead: busy (75, like any failure to undo, which is never a
    /// bug of the operator's making), and the next run finishes the undo.
    private func undo(_ cleanup: OnlineCleanup, _ db: Database, after failure: MigrationError, path: String, script: MigrationScript) throws -> MigrationError {
        do {
            try cleanup.finishLeftovers(db)
        } catch {
            let wrapped = MigrationError.wrapping(error, path: path, doing: "undoing the online migration")
            let code: MigrationError.Code = wrapped.code == .outOfSpace || wrapped.code == .ioError ? wrapped.code : .locked
            return MigrationError(code, "\(failure.message). Undoing the online migration then stopped (\(wrapped.message)): its capture triggers or new tables may still be in the file, the deployer's writes are all in its own tables, and the next migration run finishes the undo first",
                                  path: path, version: failure.version, object: failure.object, underlying: wrapped.underlying)
        }
        // Said now that it is true; the operator's next step last.
        let changed = failure.code == .schemaChangedDuringOnline
        let saysNext = failure.message.hasSuffix("migrate again")
        let message = "\(failure.message). The online migration was undone (its capture triggers, new tables and bookkeeping are gone; the deployer is unaffected)"
            + (changed ? ", and that change was kept as made" : "") + Self.rowStepsKept(script) + (changed && !saysNext ? ". Migrate again: the new run starts from the schema as it is now" : "")
        return MigrationError(failure.code, message, path: failure.path, parameter: failure.parameter, version: failure.version,
                              object: failure.object, underlying: failure.underlying, verification: failure.verification)
    }

    /// What an undo leaves of the migration: its row steps before the rebuild ran on the
    /// old tables (per chunk and on each changed row), and stay applied, as a data fix does.
    static func rowStepsKept(_ script: MigrationScript) -> String {
        let steps = script.definition.steps.compactMap { step -> String? in
            if case .sql(let block, afterRecreations: false) = step { return block.trimmingCharacters(in: .whitespacesAndNewlines) }
            return nil
        }.filter { !$0.isEmpty }
        guard !steps.isEmpty else { return "" }
        let first = steps[0].split(separator: "\n").filter { !$0.hasPrefix("--") }.joined(separator: " ")
        return "; the migration's steps before its rebuild (\(first.prefix(120))\(first.count > 120 ? "…" : "")) ran on rows of the old tables and stay applied to them, as a data fix would"
    }

    /// Refuses an online run the database or the migration cannot take, before the
    /// backup or anything else: not WAL, or a migration outside what the online path does.
    func checkOnline(_ queue: DatabaseQueue, path: String, scripts: [MigrationScript], status: DatabaseStatus) throws {
        // Every pending migration, not only the first: a v1 file's v2 is a plain step that
        // would commit before v3's refusal. Later ones are planned on a schema-only copy
        // brought to the version before them.
        guard let recreating = scripts.first(where: { !$0.definition.recreations.isEmpty }) else { return }
        do {
            let mode = try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } ?? "?"
            guard mode == "wal" else {
                throw MigrationError(.onlineNeedsWAL, "the online migration \(recreating.version) (\(recreating.name)) needs the database in WAL mode, so the deployer can read and write while the copy runs, and it is in journal mode \(mode)", path: path, version: recreating.version)
            }
            var scratch: DatabaseQueue?
            for (index, script) in scripts.enumerated() where !script.definition.recreations.isEmpty {
                guard index > 0 else {
                    try queue.read { db in
                        let resuming = try OnlineState.read(db, names: onlineNames) != nil
                        _ = try OnlinePlan.make(db, script: script, names: onlineNames, schema: readSchema(db), resuming: resuming)
                    }
                    continue
                }
                let copy = try scratch ?? schemaClone(of: queue)
                scratch = copy
                try copy.writeWithoutTransaction { db in
                    let done = try history.exists(db) ? try history.read(db, toolVersion: toolVersion).map(\.version).max() ?? 0 : 0
                    var baseline = status.isManaged || done > 0 ? nil : Optional(status.currentVersion)
                    for earlier in scripts[..<index] where earlier.version > done {
                        _ = try apply(db, script: earlier, parameters: [:], level: .counts, baseline: baseline, backupSHA256: nil,
                                      log: nil, progress: nil, checkParameters: false)
                        baseline = nil
                    }
                    do {
                        _ = try OnlinePlan.make(db, script: script, names: onlineNames, schema: readSchema(db), resuming: false)
                    } catch let error as MigrationError where error.code == .onlineNeedsWAL {
                        // The copy lives in memory; the file's own journal mode was checked above.
                    }
                }
            }
        } catch var error as MigrationError where error.path == nil {
            // The plan does not know the file; the operator's next command names it.
            error.path = path
            throw error
        }
    }

    /// One migration, online when it recreates tables; otherwise as ``apply`` runs it.
    func applyOnline(_ db: Database, script: MigrationScript, options: MigrationOptions, settings: OnlineSettings,
                     baseline: Int?, backupSHA256: String?, path: String, reader: DatabaseQueue?, drainNow: Bool) throws -> MigrationResult {
        guard !script.definition.recreations.isEmpty else {
            return try apply(db, script: script, parameters: options.parameters, level: options.verification,
                             baseline: baseline, backupSHA256: backupSHA256, log: options.statementLog,
                             progress: options.progress, snapshotReader: reader, scopesToWrittenTables: true)
        }
        guard let reader else {
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?"
            throw MigrationError(.onlineNeedsWAL, "the online migration needs the database in WAL mode, and it is in journal mode \(mode)", path: path, version: script.version)
        }
        if let baseline {
            try db.inTransaction(.immediate) {
                try stampBaseline(db, version: baseline, log: options.statementLog)
                return .commit
            }
        }
        let recorded = try history.exists(db) ? try history.read(db, toolVersion: toolVersion).map(\.version).max() ?? 0 : 0
        guard recorded == script.version - 1 else {
            throw MigrationError(.concurrentMigration, "the database moved to version \(recorded) while this run waited (another migrator?); nothing was changed", version: recorded)
        }
        try checkParameters(db, script: script, parameters: options.parameters)
        let migration = OnlineMigration(migrator: self, script: script, options: options, settings: settings, path: path)
        let cleanup = OnlineCleanup(names: onlineNames, history: history, path: path, settings: settings,
                                    log: options.statementLog, progress: options.progress)
        return try withOnlineConnection(db) {
            do {
                return try migration.run(db, reader: reader, backupSHA256: backupSHA256, drainNow: drainNow)
            } catch let error as MigrationError where [.failedVerification, .onlineNotPossible, .schemaChangedDuringOnline].contains(error.code) {
                // Nothing of it may stay: the deployer's writes stop being captured at once,
                // and the new tables are emptied and dropped.
                throw try undo(cleanup, db, after: error, path: path, script: script)
            } catch let error as MigrationError where error.underlying?.resultCode == .SQLITE_CONSTRAINT {
                // Rows the new tables refuse: there before the run or written during it, the
                // same clash offline meets, undone and said as offline says it.
                let undone = try undo(cleanup, db, after: error, path: path, script: script)
                guard undone.code == error.code else { throw undone }
                try checkParameters(db, script: script, parameters: options.parameters)
                let detail = (error.underlying?.message ?? "\(error)").replacingOccurrences(of: onlineNames.new(""), with: "")
                let clash = DatabaseError(resultCode: error.underlying?.extendedResultCode ?? .SQLITE_CONSTRAINT, message: detail)
                if let refusal = DataConflict.refusal(db, clash, script: script) {
                    let undoneMessage = "The online migration was undone (the deployer is unaffected)\(Self.rowStepsKept(script))."
                    throw MigrationError(refusal.code, refusal.message.replacingOccurrences(of: "The database is as it was.", with: undoneMessage),
                                         path: path, version: script.version, object: refusal.object, underlying: refusal.underlying)
                }
                throw MigrationError(.dataConflict, "migration \(script.version) (\(script.name)): the rows break a rule of the migrated tables (\(detail)); the online migration was undone. Change the rows that clash, then run the migration again", path: path, version: script.version)
            } catch {
                // Out of space after the prepare: the step under way was rolled back, but the
                // online run stays in the file, resumable; "the file is as it was" would be untrue.
                let wrapped = MigrationError.wrapping(error, path: path, doing: "migrating to version \(script.version) online")
                guard wrapped.code == .outOfSpace, let left = try? OnlineState.read(db, names: onlineNames) else { throw error }
                let detail = wrapped.underlying?.message ?? "\(error)"
                let next = left.phase.restart(resumable: true) == .resume
                    ? "the deployer's writes are all in its tables and the capture triggers keep the new tables in sync; with space free, running the migration online again resumes it (offline, it is undone first)"
                    : "the migration is applied, and emptying the old tables stopped; with space free, running the migration again finishes that"
                throw MigrationError(.outOfSpace, "the disk filled up on \(path) during the online migration to version \(script.version) (\(detail)); the step under way was rolled back and the run stopped in its \(left.phase.rawValue) phase: " + next,
                                     path: path, version: script.version, underlying: wrapped.underlying)
            }
        }
    }
}
