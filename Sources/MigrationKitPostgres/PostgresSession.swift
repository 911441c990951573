import Logging
import MigrationKit
import PostgresAccess
import PostgresNIO

/// The migrator's one connection: runs statements with bound parameters, and turns
/// the server's errors into ``MigrationError``s by SQLSTATE, naming the location
/// with its password masked (the driver's text never reaches the operator raw).
struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let location: PostgresLocation
    /// The migration under way, for the errors.
    let version: Int?
    let logger = Logger(label: "vmdb.migrate", factory: { _ in SwiftLogNoOpLogHandler() })

    init(_ connection: PostgresConnection, location: PostgresLocation, version: Int?) {
        self.connection = connection
        self.location = location
        self.version = version
    }

    /// A statement with no parameters (transaction control, settings).
    func execute(_ sql: String) async throws {
        try await run(PostgresQuery(unsafeSQL: sql))
    }

    func execute(_ statement: PostgresScript.Statement, parameters: MigrationParameters) async throws {
        try await run(query(statement, parameters))
    }

    /// The rows of `query`, to decode as they stream.
    func rows(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        do {
            return try await connection.query(query, logger: logger)
        } catch {
            throw translate(error)
        }
    }

    /// The rows of a one-column query, decoded.
    func values<T: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: T.Type) async throws -> [T] {
        do {
            var values: [T] = []
            for try await value in try await connection.query(query, logger: logger).decode(T.self) { values.append(value) }
            return values
        } catch {
            throw translate(error)
        }
    }

    /// `SELECT count(*) …` (an invariant, a parameter's need), with the migration's parameters.
    func count(_ sql: String, parameters: MigrationParameters) async throws -> Int {
        let statements = PostgresScript(sql).statements
        guard statements.count == 1 else {
            throw MigrationError(.malformedMigration, "a count must be one SELECT, and this is \(statements.count) statements: \(sql.prefix(80))", version: version)
        }
        return Int(try await values(query(statements[0], parameters), as: Int64.self).first ?? 0)
    }

    /// Runs a probe's statements in a savepoint, rolled back whatever happened.
    func probe(_ probe: MigrationDefinition.Probe, parameters: MigrationParameters) async throws -> ProbeResult {
        try await execute("SAVEPOINT migrationkit_probe")
        var failure: (sqlState: String, message: String)?
        var failedLast = false
        let statements = PostgresScript(probe.sql).statements
        for (index, statement) in statements.enumerated() {
            do {
                _ = try await connection.query(query(statement, parameters), logger: logger).collect()
            } catch let error as PSQLError {
                failure = (error.serverInfo?[.sqlState] ?? "?????", error.serverInfo?[.message] ?? "\(error.code)")
                failedLast = index == statements.count - 1
                break
            }
        }
        try await execute("ROLLBACK TO SAVEPOINT migrationkit_probe")
        try await execute("RELEASE SAVEPOINT migrationkit_probe")
        let passed = switch probe.expectation {
        case .accepts: failure == nil
        // Class 23: integrity constraint violation (unique, not null, check, foreign key).
        case .rejects: failedLast && failure?.sqlState.hasPrefix("23") == true
        }
        return ProbeResult(description: probe.description, expectation: probe.expectation, passed: passed,
                           outcome: failure.map { $0.message } ?? "ran")
    }

    func query(_ statement: PostgresScript.Statement, _ parameters: MigrationParameters) -> PostgresQuery {
        PostgresScript.query(statement, values: parameters)
    }

    func run(_ query: PostgresQuery) async throws {
        do {
            _ = try await connection.query(query, logger: logger).collect()
        } catch {
            throw translate(error)
        }
    }

    /// The server's error by SQLSTATE: a lock not had in time is busy (75), data the
    /// change cannot take is a conflict (2), anything else unexpected (with its text).
    func translate(_ error: any Error) -> MigrationError {
        if let error = error as? MigrationError { return error }
        guard let error = error as? PSQLError, let info = error.serverInfo else {
            return MigrationError(.serverUnreachable, "\(PostgresConnectionError(error, at: location)); if a migration was under way, its transaction was rolled back by the server. Run it again when the server answers", version: version)
        }
        let sqlState = info[.sqlState] ?? "?????"
        let message = info[.message] ?? "no message"
        switch sqlState {
        case "55P03", "57014", "40P01":   // lock_not_available (lock_timeout), query_canceled (statement_timeout), deadlock
            return MigrationError(.locked, "\(location): a lock the migration needs was held by another session past the lock timeout (SQLSTATE \(sqlState): \(message)); everything was rolled back. Retry when the deployer's long transactions are done", version: version)
        case let state where state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state):   // connection lost, server shut down
            return MigrationError(.serverUnreachable, "\(location): the server ended the session (SQLSTATE \(sqlState): \(message)); everything was rolled back. Run it again when the server answers", version: version)
        case let state where state.hasPrefix("53"):   // insufficient resources: disk full, out of memory, too many connections
            return MigrationError(.outOfSpace, "\(location): the server ran short of a resource (SQLSTATE \(sqlState): \(message)); everything was rolled back. Free it (disk space, memory, connections) and run again", version: version)
        case "42501":
            return MigrationError(.permissionDenied, "\(location): the role \(location.user) may not do what the migration needs (SQLSTATE \(sqlState): \(message)); everything was rolled back. Run vmdb as the tables' owner, or grant it the rights", version: version)
        case let state where state.hasPrefix("42") || state == "2BP01":   // an object missing, already there, or depended on
            return MigrationError(.schemaConflict, "\(location): the migration does not fit the schema as it is (SQLSTATE \(sqlState): \(message)); everything was rolled back. `vmdb verify` lists how the schema differs from a fresh install; an object of the operator's in the way must be changed or dropped first", version: version)
        case let state where state.hasPrefix("23"):
            return MigrationError(.dataConflict, "\(location): the data refuses the migration (SQLSTATE \(sqlState): \(message)); everything was rolled back. Fix the rows it names, then migrate again", version: version)
        default:
            return MigrationError(.unexpectedFailure, "\(location): the server refused a statement of the migration (SQLSTATE \(sqlState): \(message)); everything was rolled back", version: version)
        }
    }
}
