import Foundation
import Logging
import PostgresAccess
import PostgresNIO
import VMDBTestSupport

/// A database of one test's own on the test server (`VMDB_TEST_POSTGRES_URL`): created empty, dropped
/// after, whatever happened. Without the server, ``with(_:)`` throws `PostgresTestServer.NotConfigured`,
/// which fails the test (never a skip: CI sets the URL).
public struct PostgresScratchDatabase: Sendable {
    public let location: PostgresLocation
    /// The URL, the test role's password in it (to give `vmdb --db` as an operator would).
    public let url: String
    /// The test role's password (to check no message shows it).
    public let password: String
    public let name: String

    /// Runs `body` with a new database, dropped afterwards whatever happened.
    public static func with<T: Sendable>(_ body: @Sendable (PostgresScratchDatabase) async throws -> T) async throws -> T {
        let server = try PostgresTestServer.url()
        let admin = try PostgresLocation(url: server)
        // An identifier the test makes, not a value: CREATE DATABASE takes no parameter.
        let name = "vmdb_t_\(UInt32.random(in: 0...UInt32.max))"
        try await admin.withClient { client in _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        // The same server, user and options, another database: the URL's path is its last "/…" before any "?".
        let query = server.firstIndex(of: "?") ?? server.endIndex
        let slash = server[..<query].lastIndex(of: "/") ?? query
        let url = String(server[..<slash] + "/" + name + server[query...])
        let password = URLComponents(string: server)?.password ?? "-"
        let database = PostgresScratchDatabase(location: try PostgresLocation(url: url), url: url,
                                               password: password.removingPercentEncoding ?? password, name: name)
        let result: T
        do {
            result = try await body(database)
        } catch {
            try? await database.drop(admin)
            throw error
        }
        try await database.drop(admin)
        return result
    }

    private func drop(_ admin: PostgresLocation) async throws {
        try await admin.withClient { client in _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }

    public func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await location.withClient { client in try await client.withConnection { try await body($0) } }
    }

    /// Runs `sql`: one statement, or several, each ending a line with `;`.
    public func execute(_ sql: String) async throws {
        try await withConnection { connection in
            for statement in sql.components(separatedBy: ";\n") {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "test")).collect()
            }
        }
    }

    /// The first column of every row of `sql`, as text (NULLs left out).
    public func strings(_ sql: String) async throws -> [String] {
        try await withConnection { connection in
            var values: [String] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test")).decode(String?.self) {
                if let value { values.append(value) }
            }
            return values
        }
    }
}
