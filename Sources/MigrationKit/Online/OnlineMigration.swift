import Foundation
import GRDB
import SQLiteFiles

/// One `--! recreate` migration applied while the deployer keeps writing: no write
/// transaction of the migrator's is long (see ../../../README.md, "Online").
///
/// 1. Prepare (one short transaction): the new tables under temporary names, with
///    every index they will have (old indexes renamed out of the way first), the
///    change log, the state, and the capture triggers (``CaptureTriggers``).
/// 2. Copy in chunks by rowid, each a short transaction sized by time that also runs
///    the migration's row steps on its rows and stores how far it got; between them,
///    the rows the deployer changed are recomputed from the old tables.
/// 3. Verify on a WAL snapshot, outside the lock: every row of the old tables
///    against the new (content hashes, counts), foreign keys, invariants,
///    `quick_check`; rows changed but not yet recomputed are set aside.
/// 4. Cut over in one transaction with a time limit: recompute and check the rows
///    changed since the snapshot, swap the tables by RENAME, restore the operator's
///    triggers and views, run the probes, write the history row. Too slow: roll
///    back, wait, try again.
/// 5. Empty the old tables in small batches, then drop them: now, or in the next
///    run (``OnlineSettings/Drain``). The migration is applied at step 4, so a
///    failure here returns a ``PendingDrain`` with the result rather than an error.
///
/// Every step's state is in the database, in the same transaction as the step, so
/// after a crash the next run resumes (online) or cleans up (offline); the capture
/// triggers keep the new tables correct meanwhile.
struct OnlineMigration {
    let migrator: Migrator
    let script: MigrationScript
    let options: MigrationOptions
    let settings: OnlineSettings
    let path: String

    var names: OnlineNames { OnlineNames(prefix: migrator.configuration.bookkeepingPrefix) }
    var parameters: MigrationParameters { options.parameters }
    var log: ((String) -> Void)? { options.statementLog }
    var progress: ProgressHandler? { options.progress }

    /// Runs (or resumes) the migration; `db` is the migrator's connection, with
    /// foreign keys and triggers off (``Migrator/withOnlineConnection``). With
    /// `drainNow` false it returns at the cut-over, the old tables left to the next run.
    func run(_ db: Database, reader: DatabaseQueue, backupSHA256: String?, drainNow: Bool) throws -> MigrationResult {
        let watch = Stopwatch()
        let sizeBefore = DiskSpace.fileSize(path)
        var state = try OnlineState.read(db, names: names)
        let resuming = state != nil
        let schemaBefore = try state?.schemaBefore ?? migrator.readSchema(db)
        let plan = try OnlinePlan.make(db, script: script, names: names, schema: schemaBefore, resuming: resuming)
        let transactions = WriteTransactions(figures: state?.figures ?? OnlineFigures(), path: path, log: log, pace: settings.pause,
                                             afterCommit: settings.afterTransaction)
        if resuming {
            transactions.update { $0.resumes += 1 }
            let phase = "online: resuming the interrupted copy of migration \(script.version)"
            progress?(.started(phase: phase, total: nil))
            progress?(.finished(phase: phase, seconds: 0))
        } else {
            state = try prepare(db, plan: plan, schemaBefore: schemaBefore, transactions)
        }
        guard var current = state else { throw MigrationError(.unexpectedFailure, "the online state was not written") }
        // From here on, every transaction first checks that the schema it works on is as prepared.
        let schemaGuard = try OnlineSchemaGuard(db, plan: plan, expected: current.schemaObjects)
        try schemaGuard.check(db)
        transactions.schemaGuard = schemaGuard

        let copyWatch = Stopwatch()
        try copy(db, plan: plan, state: &current, transactions)
        transactions.update { $0.copySeconds += copyWatch.elapsedSeconds }
        if current.phase == .copy {
            var verifying = current
            try verifying.move(to: .verify)
            verifying.figures = transactions.figures
            _ = try transactions.run(db, doing: "recording that the online copy is complete") { try verifying.write(db, names: names) }
            current = verifying
        }

        var record = try cutOver(db, reader: reader, plan: plan, state: &current, schemaBefore: schemaBefore,
                                 backupSHA256: backupSHA256, started: watch, transactions)
        transactions.schemaGuard = nil   // the cut-over changed it, and the run is done with it
        // The command's outcome is decided here: the migration is applied, and the deployer
        // writes the new version from this commit on. What follows only empties the old
        // tables; a failure there stops the drain, never the migration (the next run finishes it).
        let secondsToCutOver = watch.elapsedSeconds
        transactions.update {
            $0.secondsToCutOver = secondsToCutOver
            $0.fileGrowthBytes = DiskSpace.fileSize(path) - sizeBefore   // again after a drain now
        }
        record.online = transactions.figures
        progress?(.note(String(format: "online: version %d is in place (cut-over at %.2f s): the deployer writes version %d from now; ", script.version, secondsToCutOver, script.version)
            + (drainNow ? "emptying the old tables follows" : "the old tables are left for the next migrate run to empty")))
        let result = { (seconds: Double, pending: PendingDrain?) in
            MigrationResult(version: script.version, name: script.name, seconds: seconds,
                            lockSeconds: transactions.figures.longestTransactionMilliseconds / 1000, verification: record, pendingDrain: pending)
        }
        let cleanup = OnlineCleanup(names: names, history: migrator.history, path: path, settings: settings, log: log, progress: progress)
        let drainWatch = Stopwatch()
        do {
            try cleanup.recordCutOver(db, state: current, record: record, transactions)
            record.online = transactions.figures
            guard drainNow else {
                return result(watch.elapsedSeconds, PendingDrain(rowsLeft: try? cleanup.rowsLeftToDrain(db, state: current), interruption: nil))
            }
            try cleanup.drain(db, state: current, transactions) { figures in
                var figures = figures
                figures.drainSeconds = drainWatch.elapsedSeconds
                figures.fileGrowthBytes = DiskSpace.fileSize(path) - sizeBefore
                figures.peakWALBytes = max(figures.peakWALBytes, transactions.figures.peakWALBytes)
                record.online = figures
                return record
            }
        } catch {
            let stopped = MigrationError.wrapping(error, path: path, doing: "emptying the old tables after the cut-over")
            transactions.update { $0.drainSeconds = drainWatch.elapsedSeconds }
            record.online = transactions.figures
            // Only the batch under way was rolled back: the migration stands, so "nothing was changed" would mislead.
            let what = stopped.message.replacingOccurrences(of: "; nothing was changed", with: "")
            return result(watch.elapsedSeconds, PendingDrain(rowsLeft: try? cleanup.rowsLeftToDrain(db, state: current), interruption: what))
        }
        return result(watch.elapsedSeconds, nil)
    }

    // MARK: Prepare

    private func prepare(_ db: Database, plan: OnlinePlan, schemaBefore: SchemaSnapshot,
                         _ transactions: WriteTransactions) throws -> OnlineState {
        let phase = "online: prepare (new tables, capture triggers)"
        progress?(.started(phase: phase, total: nil))
        let watch = Stopwatch()
        defer { progress?(.finished(phase: phase, seconds: watch.elapsedSeconds)) }
        return try transactions.run(db, doing: "preparing the online copy of migration \(script.version)") {
            let run = { (sql: String) in
                self.log?(sql)
                try db.execute(sql: sql)
            }
            try run("CREATE TABLE \(names.state.quotedIdentifier) (key TEXT PRIMARY KEY, value)")
            // No constraint at all: a trigger's insert here has nothing to conflict with.
            try run("CREATE TABLE \(names.changes.quotedIdentifier) (seq INTEGER PRIMARY KEY, tbl, row)")
            for table in plan.tables { try run(table.createSQL) }
            for table in plan.tables {
                for index in table.newIndexes { try run(index) }
            }
            for trigger in CaptureTriggers(plan: plan).createStatements { try run(trigger) }
            try checkTriggersCompile(db, plan: plan)
            var copiedBelow: [Int64?] = []
            for table in plan.tables {
                copiedBelow.append(try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM \(table.name.quotedIdentifier)"))
            }
            let state = OnlineState(version: script.version, tables: plan.tables.map(\.name),
                                    schemaBefore: schemaBefore, checksum: script.checksum, phase: .copy,
                                    schemaObjects: try OnlineSchemaGuard(db, plan: plan, expected: nil).expected,
                                    copiedBelow: copiedBelow, startedAt: UTCTimestamp.now())
            try state.write(db, names: names)
            return state
        }.result
    }

    /// Compiles (never runs) a write of each kind on every captured table with triggers
    /// on: SQLite compiles a trigger's body into the statement that fires it, so a
    /// mistake here would otherwise surface as an error in the deployer's own write.
    private func checkTriggersCompile(_ db: Database, plan: OnlinePlan) throws {
        try Migrator.withTriggers(db, enabled: true) {
            for table in plan.triggerTables {
                let name = table.name.quotedIdentifier
                for sql in ["INSERT INTO \(name) DEFAULT VALUES", "UPDATE \(name) SET rowid = rowid WHERE 0", "DELETE FROM \(name) WHERE 0",
                            "INSERT OR REPLACE INTO \(name) DEFAULT VALUES"] {
                    do {
                        _ = try db.makeStatement(sql: sql)
                    } catch {
                        throw MigrationError(.onlineNotPossible, "the capture triggers on \(table.name) do not compile (\(error)); nothing was changed", version: script.version)
                    }
                }
            }
        }
    }

    // MARK: Copy

    /// Copies every table in chunks and keeps up with the deployer's changes, until
    /// every table is copied.
    private func copy(_ db: Database, plan: OnlinePlan, state: inout OnlineState, _ transactions: WriteTransactions) throws {
        for table in plan.tables {
            guard var start = state.copiedBelow[table.number] else { continue }
            let phase = "online: copy \(table.name)"
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.name.quotedIdentifier) WHERE rowid >= ?", arguments: [start]) ?? 0
            progress?(.started(phase: phase, total: total))
            let watch = Stopwatch()
            var rows = settings.chunkRows ?? 1_000
            var done = 0
            let boundary = "SELECT rowid FROM \(table.name.quotedIdentifier) WHERE rowid >= ? ORDER BY rowid LIMIT 1 OFFSET ?"
            while true {
                try applyChanges(db, plan: plan, state: &state, transactions, limit: settings.changeBatchLimit)
                // The state is written in the chunk's transaction, and kept only once it commits.
                let chunk = try transactions.runShrinking(db, doing: "copying \(table.name)", size: &rows, minimum: 100, settings: settings) {
                    chunkRows -> (copied: Int, state: OnlineState) in
                    let end = try Int64.fetchOne(db, sql: boundary, arguments: [start, chunkRows])
                    let range = { (rowid: String) in end == nil ? "\(rowid) >= :migrationkit_lo" : "\(rowid) >= :migrationkit_lo AND \(rowid) < :migrationkit_hi" }
                    let values: [String: any DatabaseValueConvertible] = ["migrationkit_lo": start, "migrationkit_hi": end ?? Int64.max]
                    for step in table.steps {
                        try execute(db, step.sql(filter: range("rowid")), values)
                    }
                    let copied = try place(db, table, filter: range, values)
                    var next = state
                    next.copiedBelow[table.number] = end   // nil: copied whole
                    next.figures = transactions.figures
                    next.figures.rowsCopied += copied
                    try next.write(db, names: names)
                    return (copied, next)
                }
                let (copied, milliseconds) = (chunk.result.copied, chunk.milliseconds)
                state = chunk.result.state
                transactions.update { $0.rowsCopied += copied }
                done += copied
                progress?(.advanced(phase: phase, done: min(done, total), total: total))
                // Size the next chunk by time: the lock is held for about chunkMilliseconds.
                rows = settings.chunkRows ?? Self.nextBatch(rows, took: milliseconds, aim: settings.chunkMilliseconds)
                try transactions.checkpoint(db)
                guard let next = state.copiedBelow[table.number] else { break }
                start = next
            }
            progress?(.finished(phase: phase, seconds: watch.elapsedSeconds))
        }
    }

    /// Recomputes, in one transaction, the rows of up to `limit` change-log entries
    /// (all of them with no limit, inside the caller's transaction when `inTransaction`).
    func applyChanges(_ db: Database, plan: OnlinePlan, state: inout OnlineState, _ transactions: WriteTransactions,
                      limit: Int?, inTransaction: Bool = false) throws {
        let pending = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM \(names.changes.quotedIdentifier)") ?? 0
        guard pending > state.appliedChange else { return }
        let before = state
        // One batch: the state it leaves and how many rows it recomputed, kept only once committed.
        let apply = { (limit: Int?) throws -> (state: OnlineState, applied: Int) in
            var next = before
            next.figures = transactions.figures
            let entries = try Row.fetchAll(db, sql: "SELECT seq, tbl, row FROM \(names.changes.quotedIdentifier) WHERE seq > ? ORDER BY seq" + (limit.map { " LIMIT \($0)" } ?? ""),
                                           arguments: [next.appliedChange])
            guard let last = entries.last else { return (before, 0) }
            var rowsByTable: [Int: Set<Int64>] = [:]
            for entry in entries {
                guard let number = entry["tbl"] as Int?, let row = entry["row"] as Int64? else { continue }
                rowsByTable[number, default: []].insert(row)
            }
            var applied = 0
            for table in plan.tables {
                guard let rows = rowsByTable[table.number], !rows.isEmpty else { continue }
                try recompute(db, table, rows: rows, state: next)
                applied += rows.count
            }
            next.appliedChange = last["seq"]
            next.figures.changesApplied += applied
            try next.write(db, names: names)
            return (next, applied)
        }
        let outcome: (state: OnlineState, applied: Int)
        if inTransaction {
            outcome = try apply(limit)
        } else {
            // The size a batch last shrank to, grown back (×2) while batches take under a quarter of the limit.
            let most = limit ?? settings.changeBatchLimit
            var size = min(most, transactions.changeBatchSize ?? most)
            let batch = try transactions.runShrinking(db, doing: "applying the deployer's changes to the new tables", size: &size,
                                                      minimum: min(50, most), settings: settings) { try apply($0) }
            transactions.changeBatchSize = batch.milliseconds < settings.maxLockMilliseconds / 4 ? min(most, size * 2) : size
            outcome = batch.result
            let entries = outcome.state.appliedChange - before.appliedChange
            if entries > 0 { transactions.update { $0.changesPerLockSecond = Double(entries) / max(batch.milliseconds, 0.001) * 1000 } }
        }
        transactions.update { $0.changesApplied += outcome.applied }
        state = outcome.state
    }

    /// Runs the row steps on `rows` of the old table, then replaces the new rows
    /// of those already copied with what the copy makes of the old ones now.
    private func recompute(_ db: Database, _ table: OnlinePlan.Table, rows: Set<Int64>, state: OnlineState) throws {
        let all = Self.json(rows)
        let set = "rowid IN (SELECT value FROM json_each(:migrationkit_rows))"
        for step in table.steps {
            try execute(db, step.sql(filter: set), ["migrationkit_rows": all])
        }
        let copied = rows.filter { state.isCopied(table.number, $0) }
        guard !copied.isEmpty else { return }
        let values: [String: any DatabaseValueConvertible] = ["migrationkit_rows": Self.json(copied)]
        try execute(db, "DELETE FROM \(table.newName.quotedIdentifier) WHERE \(set)", values)
        _ = try place(db, table, filter: { "\($0) IN (SELECT value FROM json_each(:migrationkit_rows))" }, values)
    }

    /// The next batch's size: scaled so that its transaction takes about `aim`
    /// milliseconds, by at most ×2 or ÷2 per step.
    static func nextBatch(_ rows: Int, took milliseconds: Double, aim: Double) -> Int {
        let scale = aim / max(milliseconds, 0.5)
        return Int(Double(rows) * min(max(scale, 0.5), 2)).clamped(to: 100...200_000)
    }

    static func jsonStrings(_ strings: [String]) -> String {
        (try? String(decoding: JSONEncoder().encode(strings), as: UTF8.self)) ?? "[]"
    }

    static func json(_ rows: some Collection<Int64>) -> String {
        "[" + rows.sorted().map(String.init).joined(separator: ",") + "]"
    }

    /// One statement with the migration's parameters and the online path's own (`:migrationkit_…`).
    func execute(_ db: Database, _ sql: String, _ values: [String: any DatabaseValueConvertible]) throws {
        log?(sql)
        let statement = try db.makeStatement(sql: sql)
        try statement.bind(parameters, extra: values)
        try statement.execute()
    }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
