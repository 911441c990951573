import ContentHash
import Foundation
import Logging
import MigrationKit
import PostgresAccess
import PostgresNIO
import SQLiteFiles

/// MigrationKit's contract on PostgreSQL: the same catalog format, the same history,
/// the same verification before COMMIT (census of every table with the content hash
/// SQLite's runs compute, declared expectations, invariants, probes), the same
/// errors and codes. Each pending version runs in one transaction: PostgreSQL's DDL
/// is transactional, so a failure anywhere leaves the database as it was. A session
/// advisory lock keeps a second migrator out (it exits busy, 75, at once).
///
/// The PostgreSQL forms alter tables in place (`ALTER TABLE`): SQLite's `recreate`
/// blocks have no place here and are refused by name. Every statement that takes a
/// strong lock runs under `lock_timeout` (strong_migrations' rule), so a migration
/// that meets a long deployer transaction gives up (busy, retry) instead of queueing
/// every deployer query behind its lock request.
public struct PostgresMigrator: Sendable {
    public let catalog: MigrationCatalog
    public let toolVersion: String
    public let configuration: MigratorConfiguration
    /// How long a statement waits for a lock before the migration gives up (busy).
    public var lockTimeoutMilliseconds = 2_000
    public var verification: VerificationLevel = .full

    public init(catalog: MigrationCatalog, toolVersion: String, configuration: MigratorConfiguration) {
        self.catalog = catalog
        self.toolVersion = toolVersion
        self.configuration = configuration
    }

    /// The version the database is at and what the history holds.
    public func history(_ location: PostgresLocation) async throws -> [AppliedMigration] {
        try await connected(location) { db in
            try await PostgresHistory(configuration).read(PostgresSession(db, location: location, version: nil))
        }
    }

    /// Applies every pending migration up to `target` (all: nil); returns what it recorded.
    public func migrate(_ location: PostgresLocation, to target: Int? = nil,
                        parameters: MigrationParameters = [:]) async throws -> [AppliedMigration] {
        try await locked(location, to: target, parameters: parameters, online: nil).map(\.applied)
    }

    /// The run under the advisory lock: each pending version offline (one transaction), or
    /// online with `online`'s settings (``migrateOnline(_:to:parameters:settings:)``).
    func locked(_ location: PostgresLocation, to target: Int?, parameters: MigrationParameters,
                online: PostgresOnlineSettings?) async throws -> [PostgresOnlineMigrationReport] {
        try await connected(location) { db in
            let session = PostgresSession(db, location: location, version: nil)
            let lock = PostgresMigrationLock(key: configuration.historyTable)
            try await lock.acquire(session)
            do {
                let recorded = try await run(db, location: location, to: target, parameters: parameters, online: online)
                try await lock.release(session)
                return recorded
            } catch {
                try? await lock.release(session)
                throw error
            }
        }
    }

    private func run(_ db: PostgresConnection, location: PostgresLocation, to target: Int?,
                     parameters: MigrationParameters, online: PostgresOnlineSettings?) async throws -> [PostgresOnlineMigrationReport] {
        let history = PostgresHistory(configuration)
        let session = PostgresSession(db, location: location, version: nil)
        try await history.create(session)
        let applied = try await history.read(session)
        try check(applied, against: catalog, location: location)
        let current = applied.last?.version ?? 0
        if let target, catalog.script(version: target) == nil {
            throw MigrationError(.noSuchVersion, "there is no migration \(target) to migrate to (the latest is \(catalog.latestVersion))", version: target)
        }
        let pending = catalog.scripts.filter { $0.version > current && $0.version <= (target ?? .max) }
        var recorded: [PostgresOnlineMigrationReport] = []
        let progress = PostgresOnlineProgress(configuration)
        for script in pending {
            // Online when asked (a version without directives is then one plain step, verified as the
            // online run verifies: the deployer writes meanwhile); and always when an online run of it was
            // interrupted: its steps done cannot be undone in one transaction, so the run finishes it.
            let underway = try await progress.isUnderway(script, session)
            if online != nil || underway {
                let executor = PostgresOnlineExecutor(migrator: self, script: script, location: location, parameters: parameters,
                                                      settings: online ?? PostgresOnlineSettings())
                recorded.append(try await executor.run(db))
                continue
            }
            let watch = Stopwatch()
            let applied = try await apply(script, db, location: location, parameters: parameters, history: history)
            recorded.append(PostgresOnlineMigrationReport(offline: applied, milliseconds: watch.elapsedMilliseconds))
        }
        return recorded
    }

    /// The history against the catalog: a version this tool does not ship is a newer
    /// database (4); a checksum that differs, an edited history (5).
    func check(_ applied: [AppliedMigration], against catalog: MigrationCatalog, location: PostgresLocation) throws {
        for row in applied {
            guard let script = catalog.script(version: row.version) else {
                throw MigrationError(.newerDatabase, "\(location) records migration \(row.version) (\(row.name)), which this version of the tool does not ship (its latest is \(catalog.latestVersion)): use the newer tool that applied it. Nothing was changed", version: row.version)
            }
            guard script.checksum == row.checksum else {
                throw MigrationError(.inconsistentHistory, "the history of \(location) records migration \(row.version) with checksum \(row.checksum.prefix(12)), and the shipped file has \(script.checksum.prefix(12)): the file or the history was edited. Nothing was changed", version: row.version)
            }
        }
    }

    /// One migration in one transaction, verified before COMMIT.
    private func apply(_ script: MigrationScript, _ db: PostgresConnection, location: PostgresLocation,
                       parameters: MigrationParameters, history: PostgresHistory) async throws -> AppliedMigration {
        let definition = script.definition
        if let recreation = definition.recreations.first {
            throw MigrationError(.malformedMigration, "migration \(script.version) (\(script.fileName)) recreates \(recreation.table), SQLite's way; its PostgreSQL form alters the table in place", version: script.version)
        }
        let watch = Stopwatch()
        let session = PostgresSession(db, location: location, version: script.version)
        try await session.execute("BEGIN")
        do {
            try await session.execute("SET LOCAL lock_timeout = \(max(1, lockTimeoutMilliseconds))")
            try await checkParameters(definition, session, parameters: parameters, script: script)
            let census = PostgresCensus(session: session, definition: definition, parameters: parameters, level: verification,
                                        excludingPrefix: configuration.bookkeepingPrefix)
            let plans = try await census.plans()
            var before: [String: ContentDigest.Result] = [:]
            for plan in plans { before[plan.table] = try await census.take(plan.table, plan.before) }
            for step in definition.steps {
                guard case .sql(let block, _) = step else { continue }
                for statement in PostgresScript(block).statements {
                    try await session.execute(statement, parameters: parameters.merging(PostgresOnlineStep.everyKey) { given, _ in given })
                }
            }
            var record = VerificationRecord(level: verification)
            let checks = VerificationChecks(level: verification)
            let tablesAfter = Set(try await census.tables())
            for plan in plans {
                guard tablesAfter.contains(plan.table) else {
                    if !definition.isDropped("table", plan.table) {
                        record.failures.append("table \(plan.table) is gone after the migration (\(before[plan.table]?.rows ?? 0) rows before)")
                    }
                    continue
                }
                let after = try await census.take(plan.table, plan.after)
                checks.compare(plan.table, columns: plan.columns, before: .init(before[plan.table] ?? .empty), after: .init(after), into: &record)
            }
            try await checkDeclared(definition, session, parameters: parameters, into: &record)
            guard record.failures.isEmpty else {
                throw MigrationError(.failedVerification, "migration \(script.version) (\(script.name)) failed verification on \(location): " + record.failures.joined(separator: "; ") + ". Everything was rolled back", version: script.version, verification: record)
            }
            let row = AppliedMigration(version: script.version, name: script.name, checksum: script.checksum, appliedAt: UTCTimestamp.now(),
                                       durationMilliseconds: watch.elapsedMilliseconds, lockMilliseconds: watch.elapsedMilliseconds,
                                       toolVersion: toolVersion, verification: record,
                                       keepsStoreCompatibleFrom: definition.keepsStoreCompatibleFrom)
            try await history.record(row, session)
            try await session.execute("COMMIT")
            return row
        } catch {
            try? await session.execute("ROLLBACK")
            throw error
        }
    }

    /// The migration's invariants, each counted, and its probes, each in a savepoint rolled back.
    func checkDeclared(_ definition: MigrationDefinition, _ session: PostgresSession, parameters: MigrationParameters,
                       into record: inout VerificationRecord) async throws {
        for invariant in definition.invariants {
            let violations = try await session.count(invariant.sql, parameters: parameters)
            record.invariants.append(InvariantResult(description: invariant.description, violations: violations))
            if violations > 0 { record.failures.append("invariant \"\(invariant.description)\" broken by \(violations) row(s)") }
        }
        if !definition.probes.isEmpty {
            var probes: [ProbeResult] = []
            for probe in definition.probes { probes.append(try await session.probe(probe, parameters: parameters)) }
            record.probes = probes
            for probe in probes where !probe.passed {
                record.failures.append("probe \"\(probe.description)\" (\(probe.expectation.rawValue)) did not hold: \(probe.outcome)")
            }
        }
    }

    /// A parameter the migration needs (its count over the data is above 0) must be given.
    func checkParameters(_ definition: MigrationDefinition, _ session: PostgresSession, parameters: MigrationParameters,
                                 script: MigrationScript) async throws {
        for parameter in definition.parameters where parameters[parameter.name] == nil {
            let needed = try await session.count(parameter.neededWhen, parameters: parameters)
            if needed > 0 {
                throw MigrationError(.missingParameter, "migration \(script.version) (\(script.name)) needs the parameter \(parameter.name): \(needed) \(parameter.description). Give it a value and run again; nothing was changed",
                                     parameter: parameter.name, version: script.version)
            }
        }
    }

    /// One connection for the whole run (the advisory lock is the session's).
    func connected<T: Sendable>(_ location: PostgresLocation,
                                        _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await location.withClient { client in try await client.withConnection { try await body($0) } }
    }
}
