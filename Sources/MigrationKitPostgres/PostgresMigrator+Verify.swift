import MigrationKit
import PostgresAccess
import PostgresNIO

extension PostgresMigrator {
    /// Compares the schema with a fresh install at the same version and checks the history's
    /// checksums, as SQLite's `verify`; writes nothing. The fresh install is built in a schema of
    /// its own inside a transaction that is rolled back, so no scratch database is needed and the
    /// live tables are not locked.
    ///
    /// - Throws: ``MigrationError``: `newerDatabase`, `inconsistentHistory`, or the server's refusal.
    public func verify(_ location: PostgresLocation) async throws -> VerifyReport {
        let status = try await status(location)
        try status.requireConsistentHistory()
        return try await connected(location) { db in
            let session = PostgresSession(db, location: location, version: nil)
            let actual = try await PostgresSchema.read(session, excludingPrefix: configuration.bookkeepingPrefix)
            let reference = try await referenceSchema(session, version: status.currentVersion)
            let (drift, additions) = reference.compare(with: actual)
            return VerifyReport(
                path: location.description, version: status.currentVersion, isManaged: status.isManaged,
                drift: drift, additions: additions, integrity: "ok", foreignKeyViolations: [], historyProblems: [],
                brokenObjects: [],
                objectsNotProbed: "not run on PostgreSQL: the server checks a trigger's function and a view's query when they are created, and validated foreign keys hold by construction (a NOT VALID one is listed as drift)")
        }
    }

    /// The schema a fresh install at `version` has: the PostgreSQL forms run in a schema of
    /// their own, read, then rolled back.
    func referenceSchema(_ session: PostgresSession, version: Int) async throws -> PostgresSchema {
        try await session.execute("BEGIN")
        do {
            try await session.execute("CREATE SCHEMA vmdb_reference")
            try await session.execute("SET LOCAL search_path = vmdb_reference")
            // The migrations bind their parameters; on empty tables any value does.
            var parameters: MigrationParameters = [:]
            for script in catalog.scripts where script.version <= version {
                for parameter in script.definition.parameters { parameters[parameter.name] = "vmdb-reference" }
            }
            for script in catalog.scripts where script.version <= version {
                for step in script.definition.steps {
                    guard case .sql(let block, _) = step else { continue }
                    for statement in PostgresScript(block).statements {
                        try await session.execute(statement, parameters: parameters)
                    }
                }
            }
            let schema = try await PostgresSchema.read(session, excludingPrefix: configuration.bookkeepingPrefix)
            try await session.execute("ROLLBACK")
            return schema
        } catch {
            try? await session.execute("ROLLBACK")
            throw error
        }
    }
}
