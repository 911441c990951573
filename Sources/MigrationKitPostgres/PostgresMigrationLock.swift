import MigrationKit
import PostgresAccess
import PostgresNIO

/// The lock against a second migrator: a session advisory lock, taken without
/// waiting (a second migrator exits busy at once, as on SQLite) and released when
/// the run ends; PostgreSQL releases it too if the session dies, so a killed run
/// never leaves it held.
struct PostgresMigrationLock {
    /// The lock's key: the history table's name, hashed by the server.
    let key: String

    func acquire(_ session: PostgresSession) async throws {
        let held = try await session.values(PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_lock(hashtext($1))", binds: bindings()), as: Bool.self)
        guard held.first == true else {
            throw MigrationError(.migratorRunning, "another migrator is migrating \(session.location) (it holds the advisory lock on \(key)); run this again once it is done. Nothing was changed")
        }
    }

    func release(_ session: PostgresSession) async throws {
        _ = try await session.values(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock(hashtext($1))", binds: bindings()), as: Bool.self)
    }

    private func bindings() -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(key)
        return bindings
    }
}
