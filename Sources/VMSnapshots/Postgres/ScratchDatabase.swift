import Foundation
import PostgresAccess
import PostgresNIO

/// A database of one snapshot's own on the server, created empty and dropped after: its name is
/// made here (`vmdb_snapshot_` and random hex), never taken from input.
struct ScratchDatabase: Sendable {
    let location: PostgresLocation
    private let server: PostgresLocation
    private let name: String

    /// Creates the database on the server of `serverURL`, reached as its user.
    static func create(on serverURL: String) async throws -> ScratchDatabase {
        let server = try PostgresLocation(url: serverURL)
        let name = "vmdb_snapshot_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        // The URL's path is the database: the same server, user and options, another database.
        guard var components = URLComponents(string: serverURL) else {
            throw PostgresSnapshotError("the server URL cannot be given another database name: give it as postgres://user@host/database")
        }
        components.path = "/" + name
        guard let url = components.string else {
            throw PostgresSnapshotError("the server URL cannot be given another database name: give it as postgres://user@host/database")
        }
        // CREATE DATABASE takes no parameter; the name is this function's own.
        try await server.withClient { client in _ = try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        return ScratchDatabase(location: try PostgresLocation(url: url), server: server, name: String(name))
    }

    func drop() async throws {
        try await server.withClient { client in _ = try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }
}

/// A snapshot run on PostgreSQL that could not start, said in words.
struct PostgresSnapshotError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
