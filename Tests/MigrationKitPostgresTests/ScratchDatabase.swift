import Foundation
import Logging
import PostgresAccess
import PostgresNIO
import VMDBTestSupport

/// A database of its own on the test server, for one test: created empty, dropped after.
struct ScratchDatabase: Sendable {
    let location: PostgresLocation
    /// Its URL, password included, for a process that is not vmdb (a stand-in deployer).
    let url: String
    /// The test role's password (to check no message shows it).
    let password: String
    private let name: String

    /// Runs `body` with a new database, dropped afterwards whatever happened.
    static func with(_ body: @Sendable (ScratchDatabase) async throws -> Void) async throws {
        let server = try PostgresTestServer.url()
        let admin = try PostgresLocation(url: server)
        let name = "vmdb_t_\(UInt32.random(in: 0...UInt32.max))"
        try await admin.withClient { client in _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        // The same server, user and options, another database: the URL's path is its last "/…" before any "?".
        let query = server.firstIndex(of: "?") ?? server.endIndex
        let slash = server[..<query].lastIndex(of: "/") ?? query
        let url = server[..<slash] + "/" + name + server[query...]
        let password = URLComponents(string: server)?.password ?? "-"
        let database = ScratchDatabase(location: try PostgresLocation(url: url), url: String(url), password: password.removingPercentEncoding ?? password, name: name)
        do {
            try await body(database)
        } catch {
            try? await database.drop(admin)
            throw error
        }
        try await database.drop(admin)
    }

    /// Dropped, tried again for a while: after many writes an autovacuum worker may be in it,
    /// which FORCE may not end for a role without pg_signal_backend (SQLSTATE 42501).
    private func drop(_ admin: PostgresLocation) async throws {
        for attempt in 1... {
            do {
                try await admin.withClient { client in _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
                return
            } catch let error as PostgresConnectionError where attempt < 40 {
                guard case .server(_, "42501", _) = error else { throw error }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await location.withClient { client in try await client.withConnection { try await body($0) } }
    }

    /// Runs `sql`: one statement, or several, each ending a line with `;`.
    func execute(_ sql: String) async throws {
        try await withConnection { connection in
            for statement in sql.components(separatedBy: ";\n") {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Logger(label: "test")).collect()
            }
        }
    }

    func strings(_ sql: String) async throws -> [String] {
        try await withConnection { connection in
            var values: [String] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "test")).decode(String?.self) {
                if let value { values.append(value) }
            }
            return values
        }
    }
}
