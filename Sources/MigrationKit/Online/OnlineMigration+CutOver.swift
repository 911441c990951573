import ContentHash
import Foundation
import GRDB
import SQLiteFiles

extension OnlineMigration {
    /// What the verification saw on its snapshot, kept open until the cut-over.
    struct SnapshotCensus {
        /// The last change the new tables reflected in the snapshot; later ones were set aside.
        let appliedChange: Int64
        let plans: [CensusPlan]
        /// Per recreated table: the census of the old rows and the new, without the rows set aside.
        var parts: [(old: ContentHasher.Result, new: ContentHasher.Result)]
        var record: VerificationRecord
    }

    /// Verifies on a WAL snapshot, then cuts over, retrying within the time limit;
    /// returns the verification record written to the history.
    func cutOver(_ db: Database, reader: DatabaseQueue, plan: OnlinePlan, state: inout OnlineState, schemaBefore: SchemaSnapshot,
                 backupSHA256: String?, started: Stopwatch, _ transactions: WriteTransactions) throws -> VerificationRecord {
        var tries = 0
        // One clock for the whole cut-over: a new low of the catch-up or a cut-over
        // attempt restarts it; a snapshot taken again because too much changed during
        // the last verification does not.
        let lag = LagClock()
        var snapshots = 0
        while true {
            // Catch up before taking the snapshot, so little is set aside.
            try catchUp(db, plan: plan, state: &state, transactions, lag: lag)
            let outcome: VerificationRecord? = try reader.inDatabase { snapshot in
                try snapshot.execute(sql: "BEGIN DEFERRED")
                defer { try? snapshot.execute(sql: "ROLLBACK") }
                try transactions.schemaGuard?.check(snapshot)
                let verifyWatch = Stopwatch()
                var census = try verify(snapshot, plan: plan)
                snapshots += 1
                let verifySeconds = verifyWatch.elapsedSeconds
                transactions.update { $0.verifySeconds += verifySeconds }
                settings.afterTransaction?("verified on a snapshot")
                if !census.record.failures.isEmpty {
                    throw MigrationError(.failedVerification, "migration \(script.version) (\(script.name)) failed verification on the online copy: " + census.record.failures.joined(separator: "; "), version: script.version, verification: census.record)
                }
                // Cut-over attempts against this snapshot, until one commits or the changes
                // since it are too many to check under the lock.
                //
                // The changes since the snapshot only grow. The first attempt's count is about
                // what a fresh snapshot would start with (the writes during a verification);
                // once an attempt has run over the limit, a new snapshot is taken when the
                // changes have grown past 1.5 times that count, and not before, where it would
                // cost a verification for no smaller recheck.
                var recheckLimit = settings.recheckLimit
                var firstPending: Int?
                while true {
                    try waitWhilePostponed(db, plan: plan, state: &state, transactions, lag: lag)
                    try catchUp(db, plan: plan, state: &state, transactions, lag: lag)
                    let pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(names.changes.quotedIdentifier) WHERE seq > ?", arguments: [census.appliedChange]) ?? 0
                    if firstPending == nil { firstPending = pending }
                    if pending > recheckLimit {
                        // A new snapshot costs less than checking these under the lock, unless
                        // no cut-over could be tried for longer than the lag allowance.
                        guard lag.seconds <= settings.maxLagSeconds else {
                            throw MigrationError(.onlineLagging, "the deployer changes rows faster than the online migration to version \(script.version) can verify them: \(pending) rows changed during the last verification (\(Int(verifySeconds.rounded(.up))) s), more than a cut-over checks under its \(Int(settings.maxLockMilliseconds)) ms lock, and no cut-over could be tried for \(Int(settings.maxLagSeconds)) s (\(snapshots) verifications). The copy is complete and the capture triggers keep the new tables in sync, so the deployer is unaffected; running the migration again resumes here. Run it when the deployer writes less, with a longer lag allowance (--max-lag-seconds) or a higher --max-lock-ms",
                                                 path: path, version: script.version)
                        }
                        progress?(.finished(phase: "online: \(pending) rows changed during the verification (\(snapshots) so far): verifying again on a new snapshot", seconds: verifySeconds))
                        return nil
                    }
                    lag.restart()
                    let phase = "online: cut-over"
                    progress?(.started(phase: phase, total: nil))
                    let watch = Stopwatch()
                    do {
                        var attemptState = state
                        let committed = try transactions.run(db, doing: "cutting over migration \(script.version)", limitMilliseconds: settings.maxLockMilliseconds) {
                            try swap(db, snapshot: snapshot, plan: plan, state: &attemptState, census: &census, schemaBefore: schemaBefore,
                                     backupSHA256: backupSHA256, started: started, transactions)
                        }
                        progress?(.finished(phase: phase, seconds: watch.elapsedSeconds))
                        state = attemptState
                        var record = committed.result
                        transactions.update { $0.cutOverMilliseconds = committed.milliseconds }
                        record.online = transactions.figures
                        return record
                    } catch is WriteTransactions.LimitExceeded {
                        recheckLimit = min(recheckLimit, max(50, (firstPending ?? pending) * 3 / 2))
                        progress?(.finished(phase: phase + " (over \(Int(settings.maxLockMilliseconds)) ms: rolled back, retrying)", seconds: watch.elapsedSeconds))
                    } catch let error as MigrationError where error.code == .locked {
                        progress?(.finished(phase: phase + " (the lock was not free: retrying)", seconds: watch.elapsedSeconds))
                    }
                    tries += 1
                    transactions.update { $0.cutOverRetries += 1 }
                    guard tries < settings.cutOverTries else {
                        throw MigrationError(.cutOverTimedOut, "the cut-over of migration \(script.version) did not fit in \(Int(settings.maxLockMilliseconds)) ms in \(tries) tries; the new tables stay in sync with the old ones and the deployer is unaffected. Running the migration again resumes here", path: path, version: script.version)
                    }
                    // Back off: a busy deployer gets the lock, and fewer changes are left to check
                    // (on top of the gap every transaction leaves after it, WriteTransactions).
                    Thread.sleep(forTimeInterval: min(0.05 * Double(tries), 1))
                }
            }
            if let outcome { return outcome }
        }
    }

    /// Applies change batches until fewer entries are left than a cut-over can apply
    /// under the lock limit (at the rate batches apply them).
    ///
    /// The lag is measured and shown as it goes. While more is pending than a cut-over
    /// could take, the pending count must reach a new low every `maxLagSeconds`; when the
    /// deployer's changes outrun their application that long, the run stops, resumable.
    private func catchUp(_ db: Database, plan: OnlinePlan, state: inout OnlineState, _ transactions: WriteTransactions, lag: LagClock) throws {
        let phase = "online: catch up with the deployer's changes"
        let watch = Stopwatch()
        var shown = false
        defer {
            transactions.update { $0.catchUpSeconds += watch.elapsedSeconds }
            if shown { progress?(.finished(phase: phase, seconds: watch.elapsedSeconds)) }
        }
        while true {
            let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM \(names.changes.quotedIdentifier)") ?? 0
            let pending = Int(last - state.appliedChange)
            transactions.update {
                $0.pendingChanges = pending
                $0.peakPendingChanges = max($0.peakPendingChanges, pending)
            }
            if pending < cutOverFits(transactions.figures) { return }
            if pending < lag.lowest {
                lag.restart(lowest: pending)
            } else if lag.seconds > settings.maxLagSeconds {
                let lowest = lag.lowest
                let rate = Int(transactions.figures.changesPerLockSecond)
                throw MigrationError(.onlineLagging, "the deployer changes rows faster than the online migration to version \(script.version) applies them: \(pending) changes pending, not fewer than \(lowest) for \(Int(settings.maxLagSeconds)) s (batches apply about \(rate) a second of lock held, and leave the lock free as long again). The copy is complete and the capture triggers keep the new tables in sync, so the deployer is unaffected; running the migration again resumes here. Run it when the deployer writes less, with a lower pace, or with a longer lag allowance; the change log grows until then",
                                     path: path, version: script.version)
            }
            if !shown {
                progress?(.started(phase: phase, total: pending))
                shown = true
            }
            try applyChanges(db, plan: plan, state: &state, transactions, limit: settings.changeBatchLimit)
            try transactions.checkpoint(db)
            progress?(.advanced(phase: phase + " (\(pending) pending, applying \(Int(transactions.figures.changesPerLockSecond))/s under the lock)", done: max(0, lag.lowest - pending), total: pending))
        }
    }

    /// Since when the cut-over has made no progress: the lowest pending count the
    /// catch-up reached, and the time since it did or since a cut-over was last tried.
    final class LagClock {
        private(set) var lowest = Int.max
        private var since = Stopwatch()
        var seconds: Double { since.elapsedSeconds }

        func restart(lowest: Int? = nil) {
            if let lowest { self.lowest = lowest }
            since = Stopwatch()
        }
    }

    /// Change-log entries a cut-over can apply in half its lock limit, at the rate the
    /// batches so far applied them (200 before any was measured).
    private func cutOverFits(_ figures: OnlineFigures) -> Int {
        max(200, Int(figures.changesPerLockSecond * settings.maxLockMilliseconds / 2_000))
    }

    private func waitWhilePostponed(_ db: Database, plan: OnlinePlan, state: inout OnlineState, _ transactions: WriteTransactions, lag: LagClock) throws {
        guard let file = settings.postponeCutOverFile, FileManager.default.fileExists(atPath: file) else { return }
        let phase = "online: cut-over postponed while \(file) exists (the new tables stay in sync)"
        progress?(.started(phase: phase, total: nil))
        let watch = Stopwatch()
        while FileManager.default.fileExists(atPath: file) {
            try catchUp(db, plan: plan, state: &state, transactions, lag: lag)
            lag.restart()   // postponed by the operator: not a lag
            Thread.sleep(forTimeInterval: 0.2)
        }
        progress?(.finished(phase: phase, seconds: watch.elapsedSeconds))
    }

    /// The rows the snapshot sets aside: changed, and not yet recomputed when it was taken.
    private func setAside(_ number: Int, after applied: Int64) -> String {
        "rowid NOT IN (SELECT row FROM \(names.changes.quotedIdentifier) WHERE tbl = \(number) AND seq > \(applied))"
    }

    /// Step 3, on the snapshot: everything the offline verification checks, but the
    /// probes (they write: they run in the cut-over) and the rows set aside.
    private func verify(_ snapshot: Database, plan: OnlinePlan) throws -> SnapshotCensus {
        guard let seen = try OnlineState.read(snapshot, names: names) else {
            throw MigrationError(.unexpectedFailure, "the online state is missing from the snapshot")
        }
        let applied = seen.appliedChange
        let checks = verificationChecks
        var record = VerificationRecord(level: checks.level)
        let schema = try SchemaSnapshot.read(snapshot, excludingPrefix: names.prefix)
        let plans = try CensusPlan.plans(snapshot, schema: schema, definition: script.definition, tables: plan.tables.map(\.name))
        var parts: [(old: ContentHasher.Result, new: ContentHasher.Result)] = []
        for table in plan.tables {
            guard let census = plans.first(where: { $0.table.equalsIgnoringASCIICase(table.name) }) else {
                throw MigrationError(.unexpectedFailure, "no census plan for \(table.name)")
            }
            let phase = "online: verify \(table.name) (on a snapshot: the deployer keeps writing)"
            progress?(.started(phase: phase, total: nil))
            let watch = Stopwatch()
            let filter = setAside(table.number, after: applied)
            let before = checks.hashed(census.before)
            let after = checks.hashed(census.after)
            log?("SELECT \(before.joined(separator: ", ")) FROM \(table.name.quotedIdentifier) WHERE \(filter) -- content hash, on a snapshot")
            let old = try ContentHasher.hash(snapshot, table: table.name, expressions: before, parameters: parameters, filter: filter)
            let new = try ContentHasher.hash(snapshot, table: table.newName, expressions: after, parameters: parameters, filter: filter)
            progress?(.finished(phase: phase, seconds: watch.elapsedSeconds))
            parts.append((old, new))
            // The old table is "before", the new "after"; the rows changed since the last change applied wait for the cut-over.
            if let difference = checks.difference(table.name, columns: census.columns, before: .init(old), after: .init(new)) {
                record.failures.append(difference + " (on a snapshot, the rows changed since set aside)")
            }
        }
        // The new tables and their indexes.
        try checks.integrity(snapshot, tables: plan.tables.map(\.newName), into: &record)
        // Foreign keys of the new tables (they point at each other's temporary names).
        for table in plan.tables {
            let sql = "SELECT rowid, parent FROM pragma_foreign_key_check(?) WHERE \(setAside(table.number, after: applied)) LIMIT 20"
            log?(sql)
            do {
                let rows = try Row.fetchAll(snapshot, sql: sql, arguments: [table.newName])
                record.foreignKeyViolations += rows.map { "\(table.name) row \($0[0] as Int64? ?? 0) -> \($0[1] as String? ?? "?")" }
            } catch let error as DatabaseError {
                record.failures.append("foreign keys of \(table.name) cannot be checked: \(error.message ?? "\(error.resultCode)")")
            }
        }
        checks.foreignKeyViolations(record.foreignKeyViolations.count, samples: record.foreignKeyViolations, into: &record)
        // Invariants read the final names: temporary views over the new tables stand in for them.
        for table in plan.tables {
            try snapshot.execute(sql: "CREATE TEMP VIEW \(table.name.quotedIdentifier) AS SELECT * FROM main.\(table.newName.quotedIdentifier)")
        }
        defer { for table in plan.tables { try? snapshot.execute(sql: "DROP VIEW IF EXISTS temp.\(table.name.quotedIdentifier)") } }
        try checks.invariants(snapshot, note: " -- on the new tables", into: &record)
        return SnapshotCensus(appliedChange: applied, plans: plans, parts: parts, record: record)
    }

    /// Step 4, inside the cut-over transaction: the changed rows, checked; the swap; the
    /// operator's objects; the probes; the history row.
    private func swap(_ db: Database, snapshot: Database, plan: OnlinePlan, state: inout OnlineState, census: inout SnapshotCensus,
                      schemaBefore: SchemaSnapshot, backupSHA256: String?, started: Stopwatch,
                      _ transactions: WriteTransactions) throws -> VerificationRecord {
        let run = { (sql: String) in
            self.log?(sql)
            try db.execute(sql: sql)
        }
        try applyChanges(db, plan: plan, state: &state, transactions, limit: nil, inTransaction: true)
        var record = census.record
        let checks = verificationChecks
        // Every row changed since the snapshot, checked now, under the lock; the totals
        // are the snapshot's, less what it had of those rows, plus what they are now.
        let changed = try Row.fetchAll(db, sql: "SELECT DISTINCT tbl, row FROM \(names.changes.quotedIdentifier) WHERE seq > ?", arguments: [census.appliedChange])
        var rowsByTable: [Int: [Int64]] = [:]
        for row in changed { if let number = row["tbl"] as Int?, let id = row["row"] as Int64? { rowsByTable[number, default: []].append(id) } }
        for table in plan.tables {
            let plan = census.plans.first { $0.table.equalsIgnoringASCIICase(table.name) }!
            let rows = Self.json(rowsByTable[table.number] ?? [])
            let changedFilter = "rowid IN (SELECT value FROM json_each(:migrationkit_rows))"
            let before = checks.hashed(plan.before)
            let after = checks.hashed(plan.after)
            let values: [String: any DatabaseValueConvertible] = ["migrationkit_rows": rows]
            let oldNow = try ContentHasher.hash(db, table: table.name, expressions: before, parameters: parameters, filter: changedFilter, filterArguments: values)
            let newNow = try ContentHasher.hash(db, table: table.newName, expressions: after, parameters: parameters, filter: changedFilter, filterArguments: values)
            let overlap = changedFilter + " AND " + setAside(table.number, after: census.appliedChange)
            let oldThen = try ContentHasher.hash(snapshot, table: table.name, expressions: before, parameters: parameters, filter: overlap, filterArguments: values)
            let newThen = try ContentHasher.hash(snapshot, table: table.newName, expressions: after, parameters: parameters, filter: overlap, filterArguments: values)
            let old = census.parts[table.number].old - oldThen + oldNow
            let new = census.parts[table.number].new - newThen + newNow
            checks.compare(table.name, columns: plan.columns, before: .init(old), after: .init(new), into: &record)
            // The changed rows' foreign keys, against the new parents.
            let keys = try Row.fetchAll(db, sql: "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq", arguments: [table.newName])
            for (_, columns) in Dictionary(grouping: keys, by: { $0["id"] as Int }) {
                let parent: String = columns[0]["table"]
                let from = columns.map { $0["from"] as String }
                let to = columns.map { ($0["to"] as String?) ?? "rowid" }
                let present = from.map { "c.\($0.quotedIdentifier) IS NOT NULL" }.joined(separator: " AND ")
                let match = zip(to, from).map { "p.\($0.quotedIdentifier) = c.\($1.quotedIdentifier)" }.joined(separator: " AND ")
                let sql = "SELECT count(*) FROM \(table.newName.quotedIdentifier) AS c WHERE c.\(changedFilter) AND \(present) AND NOT EXISTS (SELECT 1 FROM \(parent.quotedIdentifier) AS p WHERE \(match))"
                log?(sql)
                let violations = try Int.fetchOne(db, sql: sql, arguments: StatementArguments(values)) ?? 0
                if violations > 0 {
                    record.foreignKeyViolations.append("\(violations) changed row(s) of \(table.name) -> \(parent)")
                    record.failures.append("\(violations) row(s) of \(table.name) the deployer changed during the copy break a foreign key to \(parent)")
                }
            }
        }
        guard record.failures.isEmpty else {
            throw MigrationError(.failedVerification, "migration \(script.version) (\(script.name)) failed verification at the online cut-over: " + record.failures.joined(separator: "; "), version: script.version, verification: record)
        }

        // The swap. Capture triggers first: the deployer's writes need them no more.
        let schema = try SchemaSnapshot.read(db, excludingPrefix: names.prefix)
        for trigger in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, length(?)) = ?", arguments: [names.triggerPrefix, names.triggerPrefix]) {
            try run("DROP TRIGGER \(trigger.quotedIdentifier)")
        }
        // Triggers and views anywhere may name the tables: dropped now, put back after.
        let captured = schema.objects.filter { ($0.type == "trigger" || $0.type == "view") && $0.sql != nil }
        for object in captured.reversed() {
            try run("DROP \(object.type.uppercased()) IF EXISTS \(object.name.quotedIdentifier)")
        }
        // AUTOINCREMENT counters as they are now, under the lock: a rowid handed out and
        // deleted during the copy must never be handed out again.
        var sequences: [String: Int64] = [:]
        if try db.tableExists("sqlite_sequence") {
            for table in plan.tables {
                sequences[table.name] = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table.name])
            }
        }
        // Old tables out of the way without touching any reference to them (legacy
        // mode, foreign keys off): other tables' keys keep naming the final names.
        try run("PRAGMA legacy_alter_table = ON")
        for table in plan.tables { try run("ALTER TABLE \(table.name.quotedIdentifier) RENAME TO \(table.oldName.quotedIdentifier)") }
        try run("PRAGMA legacy_alter_table = OFF")
        // New tables into place; their keys to each other's temporary names follow.
        for table in plan.tables { try run("ALTER TABLE \(table.newName.quotedIdentifier) RENAME TO \(table.name.quotedIdentifier)") }
        // The old tables' keys still name the final tables, whose keys differ (v2's events
        // refer to vms(vm_id), unique no more): point them at the old tables instead, or a
        // deployer's DELETE from vms would fail with "foreign key mismatch".
        var oldNames: [String: String] = [:]
        for table in plan.tables { oldNames[table.name.asciiLowercased] = table.oldName }
        // And the new tables' and indexes' text as the offline migration writes it (RENAME
        // quotes the names it rewrites), so the two schemas are the same to the byte.
        // The old tables' indexes give their names up (they go with their tables at the
        // drain) and the new tables' take them, renamed in place: no page is touched.
        try SchemaEditor.edit(db, log: log) {
            for table in plan.tables {
                guard let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table.oldName]) else { continue }
                let rewritten = ForeignKeyTargets.rewrite(sql, renaming: oldNames)
                if rewritten != sql { try SchemaEditor.setTableSQL(db, table.oldName, rewritten, log: log) }
                try SchemaEditor.setSQL(db, type: "table", name: table.name, table.finalCreateSQL, log: log)
                let oldIndexes = try Row.fetchAll(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", arguments: [table.oldName])
                for index in oldIndexes {
                    let name: String = index["name"], sql: String = index["sql"]
                    let renamed = names.oldIndex(name)
                    try SchemaEditor.renameIndex(db, name, to: renamed, sql: IndexStatement(sql)?.sql(name: renamed) ?? sql, log: log)
                }
            }
            // The final names were free at the prepare, and the guard watches only the
            // migrated tables: an object the operator named so meanwhile, anywhere, would
            // make a second object of that name (a malformed schema).
            for table in plan.tables {
                for index in table.finalIndexSQL {
                    try checkNameFree(db, index.name, for: "index on \(table.name)")
                    try SchemaEditor.renameIndex(db, index.temporary, to: index.name, sql: index.sql, log: log)
                }
            }
        }
        // AUTOINCREMENT counters: never below the old table's.
        for table in plan.tables {
            guard let sequence = sequences[table.name] else { continue }
            try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)", arguments: [table.name, table.name])
            try db.execute(sql: "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", arguments: [sequence, table.name])
        }
        for step in plan.cutOverSteps { try executeStep(db, step) }
        var restored = plan.tables.flatMap(\.restoredIndexes)
        for object in captured {
            guard let sql = object.sql, !script.definition.isDropped(object.type, object.name) else { continue }
            let exists = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name = ? COLLATE NOCASE", arguments: [object.name]) ?? false
            if exists { continue }
            do {
                try run(sql)
            } catch {
                throw MigrationError(.failedVerification, "could not recreate \(object.type) \(object.name) after the online swap: \(error); the cut-over was rolled back. If it is obsolete, drop it first, then migrate again.", version: script.version)
            }
            restored.append("\(object.type) \(object.name)")
        }
        record.restoredObjects = restored
        if plan.tables.contains(where: \.hadStatistics) {
            try run("PRAGMA analysis_limit = 1000")
            for table in plan.tables where table.hadStatistics { try run("ANALYZE \(table.name.quotedIdentifier)") }
        }
        // The schema the deployer will see: the same objects as offline, and probes on it.
        let schemaAfter = try migrator.readSchema(db)
        record.schemaChanges = schemaBefore.difference(to: schemaAfter)
        checks.lostObjects(before: schemaBefore, after: schemaAfter, into: &record)
        try checks.probes(db, into: &record)
        guard record.failures.isEmpty else {
            throw MigrationError(.failedVerification, "migration \(script.version) (\(script.name)) failed verification at the online cut-over and was rolled back: " + record.failures.joined(separator: "; "), version: script.version, verification: record)
        }
        record.freePagesAfter = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        record.carriedColumns = plan.tables.flatMap(\.carriedColumns)
        record.online = transactions.figures
        try migrator.history.record(db, AppliedMigration(
            version: script.version, name: script.name, checksum: script.checksum, appliedAt: UTCTimestamp.now(),
            durationMilliseconds: started.elapsedMilliseconds, lockMilliseconds: Int(transactions.figures.longestTransactionMilliseconds.rounded()),
            toolVersion: migrator.toolVersion, kind: .applied, verification: record, backupSHA256: backupSHA256,
            keepsStoreCompatibleFrom: script.definition.keepsStoreCompatibleFrom), log: log)
        try run("DROP TABLE \(names.changes.quotedIdentifier)")
        try state.move(to: .drain)
        state.figures = transactions.figures
        try state.write(db, names: names)
        return record
    }

    /// The checks the offline run makes too, at this run's level (one path: VerificationChecks).
    private var verificationChecks: VerificationChecks {
        VerificationChecks(definition: script.definition, parameters: parameters, level: options.verification, log: log)
    }

    /// Throws ``MigrationError/Code/schemaChangedDuringOnline`` when an object named
    /// `name` (in any case, of any type) is in the schema.
    private func checkNameFree(_ db: Database, _ name: String, for purpose: String) throws {
        guard let taken = try Row.fetchOne(db, sql: "SELECT type, name, tbl_name FROM sqlite_master WHERE name = ? COLLATE NOCASE", arguments: [name]) else { return }
        let type: String = taken["type"], takenName: String = taken["name"], table: String = taken["tbl_name"]
        let on = type == "table" || type == "view" ? "" : " on \(table)"
        throw MigrationError(.schemaChangedDuringOnline,
                             "\(type) \(takenName)\(on) was created during the online migration to version \(script.version), and migration \(script.version) gives that name to its \(purpose). Rename or drop that \(type), then migrate again",
                             version: script.version, object: takenName)
    }

    private func executeStep(_ db: Database, _ sql: String) throws {
        try db.executeStatements(sql, parameters: parameters, log: log)
    }
}
