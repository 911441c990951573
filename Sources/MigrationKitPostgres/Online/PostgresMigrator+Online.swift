import MigrationKit
import PostgresAccess

extension PostgresMigrator {
    /// Applies every pending migration up to `target` (all: nil) with the deployer writing:
    /// each version runs block by block (``PostgresOnlineSettings``), its directives
    /// (`concurrently`, `not-valid`, `backfill`) without holding a lock that blocks writes
    /// for long, and is verified at the end with its history row. An interrupted online run
    /// is resumed at its first step not done. Errors are ``MigrationError``s with the codes
    /// the offline path uses (busy, 75, when a lock was not had in `settings.attempts` tries).
    public func migrateOnline(_ location: PostgresLocation, to target: Int? = nil, parameters: MigrationParameters = [:],
                              settings: PostgresOnlineSettings = PostgresOnlineSettings()) async throws -> PostgresOnlineReport {
        // Each directive's statement checked from the files alone, before connecting.
        for script in catalog.scripts { _ = try PostgresOnlineStep.steps(of: script) }
        return PostgresOnlineReport(migrations: try await locked(location, to: target, parameters: parameters, online: settings))
    }
}
