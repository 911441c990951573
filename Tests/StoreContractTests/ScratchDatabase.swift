import Foundation
import PostgresAccess
import PostgresNIO
import VMDBTestSupport

/// A PostgreSQL database of one test's own on the test server (`VMDB_TEST_POSTGRES_URL`), with the
/// store's schema at v4 (migrations/postgres/schema-v4.sql) and a migration history saying so;
/// dropped by ``drop()``. Without the server, `init` throws `PostgresTestServer.NotConfigured`, which fails
/// the test (never a skip: CI sets the URL).
final class ScratchDatabase: Sendable {
    let name: String
    let url: String

    init() throws {
        let serverURL = try PostgresTestServer.url()
        // An identifier the test makes, not a value: CREATE DATABASE takes no parameter.
        name = "vmdb_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        guard var components = URLComponents(string: serverURL) else { throw UnreadableURL() }
        components.path = "/" + name
        guard let url = components.string else { throw UnreadableURL() }
        self.url = url
        try Self.run(on: serverURL, ["CREATE DATABASE \(name)"])
        do {
            try Self.run(on: url, try Self.schemaStatements() + Self.history)
        } catch {
            drop()
            throw error
        }
    }

    func drop() {
        guard let serverURL = try? PostgresTestServer.url() else { return }
        try? Self.run(on: serverURL, ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    /// The statements of migrations/postgres/schema-v4.sql: comment lines dropped, split after each
    /// line that ends with `;` (the file's own rule).
    static func schemaStatements() throws -> [String] {
        let path = (Fixtures.repositoryRoot as NSString).appendingPathComponent("migrations/postgres/schema-v4.sql")
        var statements: [String] = [], current: [String] = []
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current.append(String(line))
            if trimmed.hasSuffix(";") {
                statements.append(current.joined(separator: "\n").dropLast().description)
                current = []
            }
        }
        return statements
    }

    /// The history the store reads its version from, until the PostgreSQL migrations (design step 4)
    /// write it: MigrationKit's columns, and v4 recorded with its promise to v3 stores.
    static let history = [
        """
        CREATE TABLE vmdb_migrations (
            version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at text NOT NULL,
            duration_ms bigint NOT NULL, lock_ms bigint NOT NULL, tool_version text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('applied', 'baseline')), verification text, backup_sha256 text,
            store_compatible_from integer CHECK (store_compatible_from > 0))
        """,
        """
        INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind, store_compatible_from)
        VALUES (4, 'provision_intents', 'schema-v4.sql', '2026-01-01T00:00:00Z', 0, 0, 'contract-tests', 'baseline', 3)
        """,
    ]

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
