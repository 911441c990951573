import GRDB
import SQLiteFiles

/// Applies one migration inside the caller's open transaction and checks it:
/// census before, the migration's steps and recreations, census after, then
/// every verification. Throws `.verificationFailed` (with the record) when any
/// check fails; the caller rolls back.
struct MigrationRunner {
    let script: MigrationScript
    let parameters: MigrationParameters
    let level: VerificationLevel
    let log: ((String) -> Void)?
    let progress: ProgressHandler?
    /// The tool's own objects (``MigratorConfiguration/bookkeepingPrefix``), never counted or restored.
    let bookkeepingPrefix: String
    /// A read-only connection to the same WAL database, for the concurrent census.
    var snapshotReader: DatabaseQueue? = nil
    /// Online, for a migration that rebuilds no table (it runs in one write transaction
    /// beside the deployer): check only the tables its statements wrote or whose schema
    /// they changed (``WrittenTables``), their "before" read on the snapshot reader, so
    /// the lock is held for what the migration does, not for hashing every table.
    var scopesToWrittenTables = false

    private var definition: MigrationDefinition { script.definition }
    private var checks: VerificationChecks { VerificationChecks(definition: definition, parameters: parameters, level: level, log: log) }

    func run(_ db: Database) throws -> VerificationRecord {
        var record = VerificationRecord(level: level)
        let schemaBefore = try SchemaSnapshot.read(db, excludingPrefix: bookkeepingPrefix)
        var plans = try CensusPlan.plans(db, schema: schemaBefore, definition: definition)
        let scoped = scopesToWrittenTables && definition.recreations.isEmpty ? snapshotReader : nil
        let written = scoped.map { _ in WrittenTables() }
        if let written { db.add(transactionObserver: written, extent: .observerLifetime) }
        defer { if let written { db.remove(transactionObserver: written) } }

        // With a snapshot reader (WAL), hash the old content on the other core
        // while this connection rewrites the tables.
        let concurrent = scoped != nil ? nil : snapshotReader.flatMap { reader in
            level != .counts ? ConcurrentCensus(reader: reader, tables: plans.map { ($0.table, $0.before) }, parameters: parameters) : nil
        }
        // Joined on every path out: a failure below must not leave the hash running.
        var censusJoined = false
        defer { if !censusJoined { concurrent?.cancel() } }
        var before: [VerificationChecks.Census] = []
        if concurrent == nil && scoped == nil {
            for plan in plans {
                before.append(try takeCensus(db, table: plan.table, expressions: plan.before, phase: "census before"))
            }
        }

        var stepsAfter: [String] = []
        for step in definition.steps {
            switch step {
            case .sql(let block, afterRecreations: false): try db.executeStatements(block, parameters: parameters, log: log)
            case .sql(let block, afterRecreations: true): stepsAfter.append(block)
            case .recreate: break   // all together, below: TableRecreation runs the 12 steps for every table at once
            }
        }
        if !definition.recreations.isEmpty {
            let recreation = TableRecreation(definition: definition, parameters: parameters, log: log, progress: progress,
                                             bookkeepingPrefix: bookkeepingPrefix)
            let watch = Stopwatch()
            progress?(.started(phase: "recreate \(definition.recreations.map(\.table).joined(separator: ", "))", total: nil))
            let captured = try recreation.replaceTables(db)
            try timed("migration steps after the rebuild") {
                for block in stepsAfter {
                    try db.executeStatements(block, parameters: parameters, log: log)
                }
            }
            let restored = try recreation.restore(db, captured)
            progress?(.finished(phase: "recreate \(definition.recreations.map(\.table).joined(separator: ", "))", seconds: watch.elapsedSeconds))
            record.carriedColumns = captured.carriedColumns
            record.restoredObjects = restored
        }

        var changedTables: [String]? = definition.recreations.isEmpty ? nil : definition.recreations.map(\.table)
        if let reader = scoped, let written {
            // Nothing is committed yet, so the reader still sees every table as it was.
            let schemaAfterSteps = try SchemaSnapshot.read(db, excludingPrefix: bookkeepingPrefix)
            let touched = try written.touched(db, before: schemaBefore, after: schemaAfterSteps)
            plans = plans.filter { touched.contains($0.table.lowercased()) }
            // Checked for integrity and keys: those still there (a dropped one is the census's "gone").
            changedTables = schemaAfterSteps.tableNames.filter { touched.contains($0.lowercased()) }
            let watch = Stopwatch()
            progress?(.started(phase: "census before, of the \(plans.count) table(s) written (on a snapshot)", total: nil))
            let results = try ConcurrentCensus(reader: reader, tables: plans.map { ($0.table, level == .counts ? [] : $0.before) },
                                               parameters: parameters).wait()
            progress?(.finished(phase: "census before, of the \(plans.count) table(s) written (on a snapshot)", seconds: watch.elapsedSeconds))
            before = results.map { VerificationChecks.Census(rows: $0.rows, hash: level == .counts ? nil : $0.hash) }
        }

        if let concurrent {
            let watch = Stopwatch()
            censusJoined = true
            let results = try concurrent.wait()
            progress?(.finished(phase: "census before (concurrent, waited)", seconds: watch.elapsedSeconds))
            for (plan, census) in zip(plans, results) {
                log?("SELECT \(plan.before.joined(separator: ", ")) FROM \(plan.table.quotedIdentifier) -- content hash, on a snapshot reader")
                before.append(VerificationChecks.Census(rows: census.rows, hash: census.hash))
            }
        }

        let schemaAfter = try SchemaSnapshot.read(db, excludingPrefix: bookkeepingPrefix)
        record.schemaChanges = schemaBefore.difference(to: schemaAfter)
        for (plan, before) in zip(plans, before) {
            guard schemaAfter.object(named: plan.table) != nil else {
                record.tables.append(TableVerification(table: plan.table, columns: plan.columns, rowsBefore: before.rows, hashBefore: before.hash))
                if !definition.isDropped("table", plan.table) {
                    record.failures.append("table \(plan.table) is gone after the migration (\(before.rows) rows before)")
                }
                continue
            }
            let after = try takeCensus(db, table: plan.table, expressions: plan.after, phase: "census after")
            checks.compare(plan.table, columns: plan.columns, before: before, after: after, into: &record)
        }

        // The tables rewritten (recreated, or written when scoped): check them and their
        // indexes (a full-file check would re-read tables the migration never touched).
        if level != .counts {
            try timed(level == .exhaustive ? "integrity_check" : "quick_check") {
                try checks.integrity(db, tables: changedTables, into: &record)
            }
        }
        try verifyForeignKeys(db, changed: changedTables, &record)
        try checks.invariants(db, into: &record)
        try checks.probes(db, into: &record)
        checks.lostObjects(before: schemaBefore, after: schemaAfter, into: &record)
        record.freePagesAfter = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
        return record
    }

    private func takeCensus(_ db: Database, table: String, expressions: [String], phase: String) throws -> VerificationChecks.Census {
        switch level {
        case .counts:
            let sql = "SELECT count(*) FROM \(table.quotedIdentifier)"
            log?(sql)
            return VerificationChecks.Census(rows: try Int.fetchOne(db, sql: sql) ?? 0)
        case .full, .exhaustive:
            log?("SELECT \(expressions.joined(separator: ", ")) FROM \(table.quotedIdentifier) -- content hash")
            let watch = Stopwatch()
            progress?(.started(phase: "\(phase) \(table)", total: nil))
            let result = try ContentHasher.hash(db, table: table, expressions: expressions, parameters: parameters) { rows in
                progress?(.advanced(phase: "\(phase) \(table)", done: rows, total: nil))
            }
            progress?(.finished(phase: "\(phase) \(table)", seconds: watch.elapsedSeconds))
            return VerificationChecks.Census(rows: result.rows, hash: result.hash)
        }
    }

    /// Runs `body` as a named phase for the progress report.
    private func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let watch = Stopwatch()
        progress?(.started(phase: phase, total: nil))
        defer { progress?(.finished(phase: phase, seconds: watch.elapsedSeconds)) }
        return try body()
    }

    /// The tables whose foreign keys the migration may have broken: those it
    /// changed and those that refer to them (all tables when `changed` is nil).
    private func tablesToCheckForForeignKeys(_ db: Database, _ schema: SchemaSnapshot, changed: [String]?) throws -> [String] {
        guard let changed else { return schema.tableNames }
        let changedNames = Set(changed.map { $0.lowercased() })
        return try schema.tableNames.filter { table in
            if changedNames.contains(table.lowercased()) { return true }
            let parents = try String.fetchAll(db, sql: "SELECT \"table\" FROM pragma_foreign_key_list(?)", arguments: [table])
            return parents.contains { changedNames.contains($0.lowercased()) }
        }
    }

    private func verifyForeignKeys(_ db: Database, changed: [String]?, _ record: inout VerificationRecord) throws {
        let schema = try SchemaSnapshot.read(db, excludingPrefix: bookkeepingPrefix)
        let tables = try tablesToCheckForForeignKeys(db, schema, changed: changed)
        let result = try timed("foreign key check") { try ForeignKeyCheck.run(db, tables: tables, log: log) }
        record.foreignKeyViolations = result.mismatches + result.samples
        for mismatch in result.mismatches {
            // Often an operator's table keyed on the old unique vm_id.
            record.failures.append("\(mismatch): a foreign key refers to columns that are not a unique key after this migration. Point that table at the new key (for VMs: (network, vm_id), or the rowid id) or drop the constraint, then migrate again")
        }
        checks.foreignKeyViolations(result.violations, samples: result.samples, into: &record)
    }

    /// Runs one probe in a savepoint and rolls it back, whatever happened.
    static func runProbe(_ db: Database, _ probe: MigrationDefinition.Probe, parameters: MigrationParameters,
                         log: ((String) -> Void)?) throws -> ProbeResult {
        log?("SAVEPOINT migrationkit_probe -- probe: \(probe.description)")
        try db.execute(sql: "SAVEPOINT migrationkit_probe")
        var failure: DatabaseError?
        var failedLast = false
        do {
            let statements = try db.allStatements(sql: probe.sql)
            while let statement = try statements.next() {
                log?(statement.sql)
                try statement.bind(parameters)
                do {
                    try statement.execute()
                } catch let error as DatabaseError {
                    failure = error
                    do { failedLast = try statements.next() == nil } catch { failedLast = false }
                    break
                }
            }
        } catch let error as DatabaseError {
            failure = error   // a statement that does not compile
        }
        log?("ROLLBACK TO migrationkit_probe; RELEASE migrationkit_probe")
        try db.execute(sql: "ROLLBACK TO migrationkit_probe")
        try db.execute(sql: "RELEASE migrationkit_probe")
        let outcome = failure.map { $0.message ?? "\($0.resultCode)" } ?? "ran"
        let passed: Bool
        switch probe.expectation {
        case .accepts: passed = failure == nil
        case .rejects: passed = failedLast && failure?.resultCode == .SQLITE_CONSTRAINT
        }
        return ProbeResult(description: probe.description, expectation: probe.expectation, passed: passed, outcome: outcome)
    }
}
