import Foundation
import MigrationKit
import PostgresAccess
import PostgresNIO
import SQLiteFiles

/// One version run online on PostgreSQL with the deployer writing: each step of the file
/// in transactions short enough that the deployer's writes, at a 1 s lock timeout, never
/// fail for vmdb's locks (docs/POSTGRESQL-DESIGN.md, "Migrations on PostgreSQL").
///
/// - A plain step: one transaction under `SET LOCAL lock_timeout`, tried again with backoff.
/// - `concurrently`: `CREATE INDEX CONCURRENTLY` outside any transaction; an INVALID index of
///   that name left by an interrupted run is dropped (`DROP INDEX CONCURRENTLY`) and built again.
/// - `not-valid`: the constraint added `NOT VALID` (a catalog update under the strong lock),
///   then `VALIDATE CONSTRAINT` apart, which scans under SHARE UPDATE EXCLUSIVE and blocks no write.
/// - `backfill`: the UPDATE for `batch` keys at a time, each batch its own transaction.
///
/// Every transaction records its step's progress (``PostgresOnlineProgress``), so the next
/// run resumes at the first step not done. The verification is the offline contract, at the
/// end, in one REPEATABLE READ transaction that also writes the history row: the census of
/// every table (its rows counted before, its content hashed after: recorded, not compared,
/// since the deployer writes between the two), the
/// invariants, the probes, and no constraint or index left unvalidated. PostgreSQL itself
/// validated every constraint the steps added over every row.
struct PostgresOnlineExecutor {
    let migrator: PostgresMigrator
    let script: MigrationScript
    let location: PostgresLocation
    let parameters: MigrationParameters
    let settings: PostgresOnlineSettings

    /// What one transaction held: its duration, and whether vmdb tried again.
    private struct Outcome<T> {
        let value: T
        let milliseconds: Double
        let retries: Int
    }

    func run(_ db: PostgresConnection) async throws -> PostgresOnlineMigrationReport {
        let watch = Stopwatch()
        let definition = script.definition
        if let recreation = definition.recreations.first {
            throw MigrationError(.malformedMigration, "migration \(script.version) (\(script.fileName)) recreates \(recreation.table), SQLite's way; its PostgreSQL form alters the table in place", version: script.version)
        }
        let steps = try PostgresOnlineStep.steps(of: script)
        let session = PostgresSession(db, location: location, version: script.version)
        let progress = PostgresOnlineProgress(migrator.configuration)
        // The session waits for nothing by default; each transaction sets its own limit.
        try await session.execute("SET lock_timeout = 0")
        try await progress.create(session)
        let resumed = try await progress.isUnderway(script, session)
        let done = try await progress.read(script, session)
        try await migrator.checkParameters(definition, session, parameters: parameters, script: script)

        let census = PostgresCensus(session: session, definition: definition, parameters: parameters, level: migrator.verification,
                                    excludingPrefix: migrator.configuration.bookkeepingPrefix)
        // Before: the rows of each table, in one snapshot. Only counted: the deployer writes
        // before the census after, so no hash of now could be compared with it.
        try await session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        var before: [String: Int] = [:]
        do {
            for table in try await census.tables() {
                before[table] = try await count(table, session)
            }
            try await session.execute("COMMIT")
        } catch {
            try? await session.execute("ROLLBACK")
            throw error
        }

        var reports: [PostgresOnlineStepReport] = []
        for step in steps {
            var report = PostgresOnlineStepReport(step: step.number, kind: step.kindName, object: step.object)
            let stepWatch = Stopwatch()
            do {
                if done[step.number]?.phase == "done" {
                    report.alreadyDone = true
                } else {
                    try await run(step, entry: done[step.number], session, progress, into: &report)
                }
            } catch let error as MigrationError {
                throw Self.interrupted(error, at: step, version: script.version)
            }
            report.milliseconds = stepWatch.elapsedSeconds * 1000
            reports.append(report)
        }

        // The history's lock_ms: each step's longest lock blocking writes, summed (what the deployer could have waited).
        var lockMilliseconds = 0.0
        var figures = OnlineFigures()
        for report in reports {
            lockMilliseconds += report.longestLockMilliseconds
            figures.overLimitRollbacks += report.retries
            if report.longestLockMilliseconds > figures.longestTransactionMilliseconds {
                figures.longestTransactionMilliseconds = report.longestLockMilliseconds
                figures.longestTransaction = report.description
            }
        }
        figures.resumes = resumed ? 1 : 0
        let verified = try await transaction(in: session, isolation: "REPEATABLE READ") { () -> AppliedMigration in
            var record = VerificationRecord(level: migrator.verification)
            let tablesAfter = Set(try await census.tables())
            for (table, rows) in before.sorted(by: { $0.key < $1.key }) where !tablesAfter.contains(table) && !definition.isDropped("table", table) {
                record.failures.append("table \(table) is gone after the migration (\(rows) rows before)")
            }
            // After: every table as the steps left it, its columns as they are now.
            for plan in try await census.plans() {
                // Counts only: the server counts, no row comes to vmdb.
                let after = migrator.verification == .counts ? nil : try await census.take(plan.table, plan.after)
                var rows = after?.rows ?? 0
                if after == nil { rows = try await count(plan.table, session) }
                record.tables.append(.uncompared(table: plan.table, columns: plan.columns, rowsBefore: before[plan.table] ?? 0, rowsAfter: rows,
                                                 hashBefore: nil, hashAfter: after?.hash))
            }
            try await migrator.checkDeclared(definition, session, parameters: parameters, into: &record)
            for object in try await unvalidated(session) {
                record.failures.append("\(object) is not valid after the migration")
            }
            record.online = figures
            guard record.failures.isEmpty else {
                throw MigrationError(.failedVerification, "migration \(script.version) (\(script.name)) failed verification on \(location): " + record.failures.joined(separator: "; ") + ". Its online steps are in place and the history does not record the version: fix what it names and run the migration again, which verifies again", version: script.version, verification: record)
            }
            let row = AppliedMigration(version: script.version, name: script.name, checksum: script.checksum, appliedAt: UTCTimestamp.now(),
                                       durationMilliseconds: watch.elapsedMilliseconds, lockMilliseconds: Int(lockMilliseconds.rounded()),
                                       toolVersion: migrator.toolVersion, verification: record,
                                       keepsStoreCompatibleFrom: definition.keepsStoreCompatibleFrom)
            try await PostgresHistory(migrator.configuration).record(row, session)
            try await progress.clear(script.version, session)
            return row
        }
        return PostgresOnlineMigrationReport(applied: verified.value, online: true, resumed: resumed, steps: reports,
                                             milliseconds: watch.elapsedMilliseconds)
    }

    /// One step, from where `entry` says an earlier run left it.
    private func run(_ step: PostgresOnlineStep, entry: PostgresOnlineProgress.Entry?, _ session: PostgresSession,
                     _ progress: PostgresOnlineProgress, into report: inout PostgresOnlineStepReport) async throws {
        func checkpoint(_ phase: String) async throws {
            try await settings.checkpoint?(PostgresOnlineCheckpoint(version: script.version, step: step.number, kind: step.kindName, phase: phase))
        }
        func note<T>(_ outcome: Outcome<T>, strong: Bool) {
            report.retries += outcome.retries
            if strong {
                report.longestLockMilliseconds = max(report.longestLockMilliseconds, outcome.milliseconds)
            } else {
                report.longestTransactionMilliseconds = max(report.longestTransactionMilliseconds, outcome.milliseconds)
            }
        }
        switch step.kind {
        case .plain:
            // The progress row first: from the first DDL on, the strong lock is held only to COMMIT.
            note(try await transaction(in: session) {
                try await progress.save(script, step: step.number, phase: "done", session)
                for statement in step.statements { try await session.execute(statement, parameters: parameters) }
            }, strong: true)

        case .concurrently(let index):
            switch try await indexIsValid(index, session) {
            case true?:
                break   // built by a run killed before it could record so
            case false?:
                try await session.execute("DROP INDEX CONCURRENTLY IF EXISTS \(PostgresIdentifier.quoted(index))")
                report.droppedInvalidIndex = true
                try await build(step, session)
            case nil:
                try await build(step, session)
            }
            note(try await transaction(in: session) {
                try await progress.save(script, step: step.number, phase: "done", session)
            }, strong: false)

        case .notValid(let table, let constraint):
            if entry?.phase != "added" {
                note(try await transaction(in: session) {
                    try await progress.save(script, step: step.number, phase: "added", session)
                    try await session.execute(step.onlineStatement, parameters: parameters)
                }, strong: true)
                try await checkpoint("added")
            }
            note(try await transaction(in: session, lockTimeout: max(settings.lockTimeoutMilliseconds, settings.weakLockTimeoutMilliseconds)) {
                try await session.execute("ALTER TABLE \(PostgresIdentifier.quoted(table)) VALIDATE CONSTRAINT \(PostgresIdentifier.quoted(constraint))")
                try await progress.save(script, step: step.number, phase: "done", session)
            }, strong: false)

        case .backfill(let table, let key, let batch):
            var keyDone = entry?.keyDone
            // To the last key there is; again while the deployer added keys past it.
            while true {
                let bounds = try await session.rows(PostgresQuery(unsafeSQL: "SELECT min(\(PostgresIdentifier.quoted(key)))::bigint, max(\(PostgresIdentifier.quoted(key)))::bigint FROM \(PostgresIdentifier.quoted(table))"))
                var first: Int64?
                var last: Int64?
                for try await (low, high) in bounds.decode((Int64?, Int64?).self) { (first, last) = (low, high) }
                guard let first, let last else { break }
                var from = max(keyDone.map { $0 &+ 1 } ?? first, first)
                guard from <= last else { break }
                while from <= last {
                    let through = from > last - Int64(batch) + 1 ? last : from + Int64(batch) - 1
                    var values = parameters
                    values["batch_first"] = String(from)
                    values["batch_last"] = String(through)
                    let outcome = try await transaction(in: session) { () -> Int in
                        let rows = try await session.values(session.query(step.onlineStatement, values), as: Int64.self).first ?? 0
                        try await progress.save(script, step: step.number, phase: "batch", keyDone: through, session)
                        return Int(rows)
                    }
                    note(outcome, strong: false)
                    report.batches += 1
                    report.rows += outcome.value
                    keyDone = through
                    from = through + 1
                    try await checkpoint("batch")
                }
            }
            note(try await transaction(in: session) {
                try await progress.save(script, step: step.number, phase: "done", session)
            }, strong: false)
        }
        try await checkpoint("done")
    }

    /// `CREATE INDEX CONCURRENTLY`; what a failure leaves (an INVALID index) is dropped before the error goes up.
    private func build(_ step: PostgresOnlineStep, _ session: PostgresSession) async throws {
        do {
            try await session.execute(step.onlineStatement, parameters: parameters)
        } catch {
            if case .concurrently(let index) = step.kind {
                try? await session.execute("DROP INDEX CONCURRENTLY IF EXISTS \(PostgresIdentifier.quoted(index))")
            }
            throw error
        }
    }

    private func count(_ table: String, _ session: PostgresSession) async throws -> Int {
        try await session.count("SELECT count(*) FROM \(PostgresIdentifier.quoted(table))", parameters: [:])
    }

    /// Whether the index `name` is valid (nil: there is none).
    private func indexIsValid(_ name: String, _ session: PostgresSession) async throws -> Bool? {
        var bindings = PostgresBindings()
        bindings.append(name)
        return try await session.values(PostgresQuery(unsafeSQL: """
            SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace
            """, binds: bindings), as: Bool.self).first
    }

    /// Constraints still NOT VALID and indexes INVALID in the schema, by name.
    private func unvalidated(_ session: PostgresSession) async throws -> [String] {
        let constraints = try await session.values(PostgresQuery(unsafeSQL: """
            SELECT 'constraint ' || conrelid::regclass::text || '.' || conname::text FROM pg_constraint
            WHERE NOT convalidated AND connamespace = current_schema()::regnamespace ORDER BY 1
            """), as: String.self)
        let indexes = try await session.values(PostgresQuery(unsafeSQL: """
            SELECT 'index ' || c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace ORDER BY 1
            """), as: String.self)
        return constraints + indexes
    }

    /// `body` in one transaction under `SET LOCAL lock_timeout`, tried again with a doubling,
    /// jittered backoff while a lock is not had in time (or a deadlock chose vmdb).
    private func transaction<T>(in session: PostgresSession, isolation: String? = nil, lockTimeout: Int? = nil,
                                _ body: () async throws -> T) async throws -> Outcome<T> {
        let timeout = lockTimeout ?? settings.lockTimeoutMilliseconds
        var retries = 0
        while true {
            let watch = Stopwatch()
            do {
                try await session.execute(isolation.map { "BEGIN ISOLATION LEVEL \($0)" } ?? "BEGIN")
                try await session.execute("SET LOCAL lock_timeout = \(max(1, timeout))")
                let value = try await body()
                try await session.execute("COMMIT")
                return Outcome(value: value, milliseconds: watch.elapsedSeconds * 1000, retries: retries)
            } catch let error as MigrationError where error.code == .locked {
                try? await session.execute("ROLLBACK")
                retries += 1
                guard retries < settings.attempts else {
                    throw MigrationError(.locked, "\(location): a lock migration \(script.version) needs was held by another session past \(timeout) ms, \(retries) times (\(error.message))", version: script.version)
                }
                let ceiling = min(settings.longestBackoffMilliseconds, settings.firstBackoffMilliseconds << min(retries - 1, 20))
                try await Task.sleep(for: .milliseconds(Int.random(in: (ceiling / 2)...max(ceiling / 2, ceiling))))
            } catch {
                try? await session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// An error in a step, saying what is done and that the next run resumes.
    private static func interrupted(_ error: MigrationError, at step: PostgresOnlineStep, version: Int) -> MigrationError {
        let message = error.message.replacingOccurrences(of: "; everything was rolled back", with: "")
            .replacingOccurrences(of: "everything was rolled back", with: "its transaction was rolled back")
        return MigrationError(error.code, "\(message). Online migration \(version) stopped at step \(step.number) (\(step.kindName) \(step.object)): the steps before it are done and recorded, and the next run, online or offline, resumes there",
                              parameter: error.parameter, version: version, object: error.object, verification: error.verification)
    }
}
