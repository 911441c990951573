import Foundation
import GRDB
import SQLiteFiles

/// Takes an online migration's leftovers away, from its state alone (a crash may
/// have left them for a later run, maybe one without --online):
/// - after the cut-over (``OnlineState/Phase/drain``), the old tables are emptied in
///   small batches and dropped;
/// - before it (``OnlineState/Phase/copy`` given up, or ``OnlineState/Phase/abort``),
///   the capture triggers go at once, then the new tables are emptied and dropped
///   and the old indexes get their names back. The migration's row steps stay
///   applied to the old rows they ran on (see OnlineStateMachine.md, "Resume").
struct OnlineCleanup {
    let names: OnlineNames
    let history: MigrationHistory
    let path: String
    let settings: OnlineSettings
    let log: ((String) -> Void)?
    let progress: ProgressHandler?

    /// Finishes whatever an earlier online run left, if anything, and says what it was.
    @discardableResult
    func finishLeftovers(_ db: Database) throws -> FinishedOnlineRun? {
        guard let state = try OnlineState.read(db, names: names) else { return nil }
        let transactions = WriteTransactions(figures: state.figures, path: path, log: log, pace: settings.pause)
        let watch = Stopwatch()
        switch state.phase.restart(resumable: false) {
        case .finishDrain:
            let rows = try drain(db, state: state, transactions) { figures in
                guard var record = try history.read(db).first(where: { $0.version == state.version })?.verification else { return nil }
                var figures = figures
                figures.drainSeconds += watch.elapsedSeconds
                record.online = figures
                return record
            }
            return FinishedOnlineRun(version: state.version, work: .drain, rows: rows, seconds: watch.elapsedSeconds)
        case .undo, .resume:
            let rows = try abort(db, state: state, transactions)
            return FinishedOnlineRun(version: state.version, work: .undo, rows: rows, seconds: watch.elapsedSeconds)
        }
    }

    /// Stores the figures as they stand right after the cut-over (its own transaction
    /// included) in the state and the history row, in one short transaction: a drain
    /// left for later, or cut short, then starts from them.
    func recordCutOver(_ db: Database, state: OnlineState, record: VerificationRecord, _ transactions: WriteTransactions) throws {
        _ = try transactions.run(db, doing: "recording the cut-over's figures") {
            var figures = transactions.figures
            figures.transactions += 1
            var next = state
            next.figures = figures
            try next.write(db, names: names)
            var record = record
            record.online = figures
            try history.updateVerification(db, version: state.version, record,
                                           lockMilliseconds: Int(figures.longestTransactionMilliseconds.rounded()))
        }
    }

    /// Rows left in the old tables after the cut-over.
    func rowsLeftToDrain(_ db: Database, state: OnlineState) throws -> Int {
        var rows = 0
        for table in state.tables where try db.tableExists(names.old(table)) {
            rows += try Int.fetchOne(db, sql: "SELECT count(*) FROM \(names.old(table).quotedIdentifier)") ?? 0
        }
        return rows
    }

    /// Empties and drops the old tables; the last transaction also stores the final
    /// figures in the migration's history row (`record` gives the record to store).
    /// Returns the rows it emptied.
    @discardableResult
    func drain(_ db: Database, state: OnlineState, _ transactions: WriteTransactions,
               record: (OnlineFigures) throws -> VerificationRecord?) throws -> Int {
        var rows = 0
        for table in state.tables {
            rows += try empty(db, names.old(table), phase: "online: empty the old \(table) (the deployer uses the new one)", transactions)
        }
        _ = try transactions.run(db, doing: "dropping the old tables") {
            for table in state.tables.reversed() where try db.tableExists(names.old(table)) {
                try run(db, "DROP TABLE \(names.old(table).quotedIdentifier)")
            }
            try run(db, "DROP TABLE IF EXISTS \(names.state.quotedIdentifier)")
            var figures = transactions.figures
            figures.transactions += 1
            // The history's lock figure now counts every transaction before this one, the cut-over's included.
            if let verification = try record(figures) {
                try history.updateVerification(db, version: state.version, verification,
                                               lockMilliseconds: Int(figures.longestTransactionMilliseconds.rounded()))
            }
        }
        try? db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)")
        return rows
    }

    /// Undoes an online migration that did not cut over; returns the rows it emptied.
    @discardableResult
    func abort(_ db: Database, state: OnlineState, _ transactions: WriteTransactions) throws -> Int {
        _ = try transactions.run(db, doing: "removing the online migration's capture triggers") {
            for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, length(?)) = ?", arguments: [names.triggerPrefix, names.triggerPrefix]) {
                try run(db, "DROP TRIGGER \(trigger.quotedIdentifier)")
            }
            var aborting = state
            if aborting.phase != .abort { try aborting.move(to: .abort) }
            try aborting.write(db, names: names)
        }
        var rows = 0
        for table in state.tables {
            rows += try empty(db, names.new(table), phase: "online: empty the unfinished new \(table)", transactions)
        }
        _ = try transactions.run(db, doing: "removing the online migration's tables") {
            for table in state.tables.reversed() where try db.tableExists(names.new(table)) {
                try run(db, "DROP TABLE \(names.new(table).quotedIdentifier)")
            }
            if !state.renamedIndexes.isEmpty {
                try SchemaEditor.edit(db, log: log) {
                    for (renamed, original) in state.renamedIndexes.sorted(by: { $0.key < $1.key }) {
                        guard let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [renamed]),
                              let index = IndexStatement(sql) else { continue }
                        // The text it had before the prepare, to the byte (renaming re-quotes the name).
                        let before = state.schemaBefore.objects.first { $0.type == "index" && $0.name == original }?.sql
                        try SchemaEditor.renameIndex(db, renamed, to: original, sql: before ?? index.sql(name: original), log: log)
                    }
                }
            }
            try run(db, "DROP TABLE IF EXISTS \(names.changes.quotedIdentifier)")
            try run(db, "DROP TABLE IF EXISTS \(names.state.quotedIdentifier)")
        }
        return rows
    }

    /// Deletes every row of `table` in batches sized by time, then it is cheap to drop;
    /// returns the rows it deleted.
    private func empty(_ db: Database, _ table: String, phase: String, _ transactions: WriteTransactions) throws -> Int {
        guard try db.tableExists(table) else { return 0 }
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.quotedIdentifier)") ?? 0
        guard total > 0 else { return 0 }
        progress?(.started(phase: phase, total: total))
        let watch = Stopwatch()
        var rows = 1_000
        var done = 0
        let delete = "DELETE FROM \(table.quotedIdentifier) WHERE rowid IN (SELECT rowid FROM \(table.quotedIdentifier) ORDER BY rowid LIMIT ?)"
        // Every row left here also lives in the table that stays (the migrated one after
        // a cut-over, the original after an undo), so zeroing the freed pages (SQLite's
        // SECURE_DELETE, on in Debian's build) would hide nothing: FAST skips that I/O.
        let secureDelete = try Int.fetchOne(db, sql: "PRAGMA secure_delete") ?? 1
        try db.execute(sql: "PRAGMA secure_delete = FAST")
        defer { try? db.execute(sql: "PRAGMA secure_delete = \(secureDelete)") }
        while true {
            let batch = try transactions.runShrinking(db, doing: "emptying \(table)", size: &rows, minimum: 100, settings: settings) { rows -> (deleted: Int, asked: Int) in
                log?(delete)
                try db.execute(sql: delete, arguments: [rows])
                return (db.changesCount, rows)
            }
            done += batch.result.deleted
            progress?(.advanced(phase: phase, done: min(done, total), total: total))
            if batch.result.deleted < batch.result.asked { break }
            rows = OnlineMigration.nextBatch(rows, took: batch.milliseconds, aim: settings.chunkMilliseconds)
            try transactions.checkpoint(db)
        }
        progress?(.finished(phase: phase, seconds: watch.elapsedSeconds))
        return done
    }

    private func run(_ db: Database, _ sql: String) throws {
        log?(sql)
        try db.execute(sql: sql)
    }
}
