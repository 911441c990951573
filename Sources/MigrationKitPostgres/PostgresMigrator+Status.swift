import MigrationKit
import PostgresAccess
import PostgresNIO

extension PostgresMigrator {
    /// The database's version, its history and what is pending; read-only, as SQLite's `status`.
    /// A database with no history table and no tables is at version 0 (everything pending); one
    /// with tables but no history was not made by these migrations and is refused (65).
    public func status(_ location: PostgresLocation) async throws -> DatabaseStatus {
        try await connected(location) { db in
            let session = PostgresSession(db, location: location, version: nil)
            let applied = try await PostgresHistory(configuration).read(session)
            let status = DatabaseStatus(path: location.description, history: applied, catalog: catalog,
                                        journalMode: "n/a", engine: "postgresql")
            if applied.isEmpty {
                let tables = try await PostgresCensus.tables(session, excludingPrefix: configuration.bookkeepingPrefix)
                guard tables.isEmpty else {
                    throw MigrationError(.unknownSchema, "\(location) has tables (\(tables.prefix(5).joined(separator: ", "))) but no vmdb history: its schema was not made by vmdb's PostgreSQL migrations. Nothing was changed; give an empty database, or the database vmdb migrated")
                }
            }
            return status
        }
    }

    /// The exact SQL `migrate` would run on PostgreSQL, from the shipped PostgreSQL forms; changes
    /// nothing. Not rehearsed: a rehearsal would take the live tables' locks (`migrate --dry-run`
    /// runs the migrations on a scratch copy instead).
    public func plan(_ location: PostgresLocation, to target: Int? = nil) async throws -> MigrationPlan {
        let status = try await status(location)
        try status.requireConsistentHistory()
        let version = target ?? catalog.latestVersion
        guard catalog.script(version: version) != nil || version == 0 else {
            throw MigrationError(.noSuchVersion, "there is no migration \(version) to plan to (the latest is \(catalog.latestVersion))", version: version)
        }
        guard version >= status.currentVersion else {
            throw MigrationError(.versionBehind, "\(location) is at version \(status.currentVersion), past \(version): migrations only go forward", version: version)
        }
        let pending = catalog.scripts.filter { $0.version > status.currentVersion && $0.version <= version }
        let entries = pending.map { script in
            var statements = ["BEGIN", "SET LOCAL lock_timeout = \(max(1, lockTimeoutMilliseconds))"]
            for step in script.definition.steps {
                guard case .sql(let block, _) = step else { continue }
                statements += PostgresScript(block).statements.map(\.sql)
            }
            statements.append(PostgresHistory.insertSQL(table: configuration.historyTable))
            statements.append("COMMIT")
            return MigrationPlan.Entry(version: script.version, name: script.name, checksum: script.checksum, statements: statements)
        }
        let parameters = Set(pending.flatMap { $0.definition.parameters.map(\.name) })
        return MigrationPlan(path: location.description, fromVersion: status.currentVersion, toVersion: version,
                             baselinedVersion: nil, parameters: parameters.sorted(), migrations: entries,
                             notRehearsed: pending.isEmpty ? nil : ["not rehearsed on PostgreSQL (a rehearsal would lock the live tables); `vmdb migrate --dry-run` runs it on a scratch copy"])
    }
}
