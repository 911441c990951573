import Foundation
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import ShippedMigrations
import VMDBTestSupport

/// A PostgreSQL database of one test's own on the test server (`VMDB_TEST_POSTGRES_URL`), migrated to
/// `version` by the shipped PostgreSQL migrations (migrations/postgres, PostgresMigrator), as
/// `vmdb migrate` will; dropped by ``drop()``. Without the server, ``make(version:)`` throws
/// `PostgresTestServer.NotConfigured`, which fails the test (never a skip: CI sets the URL).
final class ScratchDatabase: Sendable {
    let name: String
    let url: String

    private init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    static func make(version: Int = ShippedMigrations.postgresCatalog.latestVersion) async throws -> ScratchDatabase {
        let serverURL = try PostgresTestServer.url()
        // An identifier the test makes, not a value: CREATE DATABASE takes no parameter.
        let name = "vmdb_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        guard var components = URLComponents(string: serverURL) else { throw UnreadableURL() }
        components.path = "/" + name
        guard let url = components.string else { throw UnreadableURL() }
        let database = ScratchDatabase(name: name, url: url)
        try run(on: serverURL, ["CREATE DATABASE \(name)"])
        do {
            let migrator = PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "contract-tests",
                                            configuration: ShippedMigrations.configuration)
            _ = try await migrator.migrate(try PostgresLocation(url: url), to: version)
        } catch {
            database.drop()
            throw error
        }
        return database
    }

    func drop() {
        guard let serverURL = try? PostgresTestServer.url() else { return }
        try? Self.run(on: serverURL, ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    /// Runs each statement on one connection to `url`, waiting from this thread.
    static func run(on url: String, _ statements: [String]) throws {
        let connection = try connect(to: url)
        defer { try? connection.close().wait() }
        for statement in statements {
            _ = try connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).wait()
        }
    }

    /// A connection of its own to `url` (close it).
    static func connect(to url: String) throws -> PostgresConnection {
        try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                       configuration: try PostgresLocation(url: url).connectionConfiguration(), id: 1,
                                       logger: logger).wait()
    }

    static let logger = Logger(label: "vmdb.contract-tests")

    struct UnreadableURL: Error, CustomStringConvertible {
        var description: String { "VMDB_TEST_POSTGRES_URL is not a URL a database name can be put in" }
    }
}
