import Foundation
import GRDB
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import ShippedMigrations
import Testing
import VMDBTestSupport
import VMStore
import VMStorePostgres

/// The engines repair runs on: the tests below take one as their argument and run unchanged on each.
enum RepairEngine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A v4 database of one test's own with a store on it: a file made as `vmdb init` makes it, or a
/// PostgreSQL database on the test server (`VMDB_TEST_POSTGRES_URL`) migrated by the shipped
/// PostgreSQL migrations, dropped by ``close()``. Rows are read beside the store, as text.
final class RepairDatabase: @unchecked Sendable {
    // @unchecked: used by one test at a time; the store is Sendable.
    let engine: RepairEngine
    let store: VMStore
    private let directory: TemporaryDirectory
    private let file: String?
    private let postgresName: String?
    private let postgresURL: String?

    /// The columns compared across engines, per table. Not the row ids: each engine assigns its own
    /// (a PostgreSQL sequence also counts the rows its migrations' probes rolled back).
    static let comparedTables: [(table: String, columns: [String])] = [
        ("vms", ["network", "vm_id", "name", "node_id", "contract_id", "twin_id", "status", "ipv4", "ipv6", "mycelium_ip",
                 "flist", "cpu", "memory_mb", "disk_gb", "installed_version", "available_version", "updates_checked_at",
                 "created_at", "updated_at", "metadata", "origin"]),
        ("vm_repairs", ["network", "vm_id", "action", "source", "entry", "recorded_at"]),
        ("provision_intents", ["network", "request_id", "name", "node_id", "cpu", "memory_mb", "disk_gb", "state", "vm_id", "detail",
                               "lease_owner", "lease_expires_at", "first_missed_at", "created_at", "updated_at"]),
        ("vm_events", ["network", "vm_id", "kind", "at", "detail"]),
    ]

    init(_ engine: RepairEngine, clock: @escaping @Sendable () -> Date) async throws {
        self.engine = engine
        directory = try TemporaryDirectory("repair-\(engine.rawValue)")
        switch engine {
        case .sqlite:
            let path = try Fixtures.database(version: 4, in: directory)
            (file, postgresName, postgresURL) = (path, nil, nil)
            store = try VMStore(path: path, options: .init(clock: clock))
        case .postgres:
            let server = try PostgresTestServer.url()
            // An identifier the test makes, not a value: CREATE DATABASE takes no parameter.
            let name = "vmdb_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            var components = try #require(URLComponents(string: server))
            components.path = "/" + name
            let url = try #require(components.string)
            try Self.run(on: server, ["CREATE DATABASE \(name)"])
            do {
                let migrator = PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "repair-tests",
                                                configuration: ShippedMigrations.configuration)
                _ = try await migrator.migrate(try PostgresLocation(url: url), to: 4)
                store = try VMStore(postgres: try PostgresLocation(url: url), clock: clock)
            } catch {
                try? Self.run(on: server, ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
                throw error
            }
            (file, postgresName, postgresURL) = (nil, String(name), url)
        }
    }

    func close() {
        try? store.close()
        if let postgresName, let server = try? PostgresTestServer.url() {
            try? Self.run(on: server, ["DROP DATABASE IF EXISTS \(postgresName) WITH (FORCE)"])
        }
    }

    /// Runs the test's own SQL (no values in it) beside the store: `sqlite` on the file, the `postgres`
    /// statements on the server.
    func execute(sqlite: String, postgres: [String]) throws {
        if let file {
            try DatabaseQueue(path: file).write { db in try db.execute(sql: sqlite) }
        } else if let postgresURL {
            try Self.run(on: postgresURL, postgres)
        }
    }

    /// Every row of every compared table, each value as the engine writes it as text, the rows sorted here
    /// (so that no collation of either engine decides the order).
    func rows() throws -> [String: [[String?]]] {
        var tables: [String: [[String?]]] = [:]
        for (table, columns) in Self.comparedTables {
            if let file {
                let list = columns.map { "CAST(\($0) AS TEXT)" }.joined(separator: ", ")
                tables[table] = try DatabaseQueue(path: file).read { db in
                    try Row.fetchAll(db, sql: "SELECT \(list) FROM \(table)").map { row in
                        (0..<row.count).map { row[$0] as String? }
                    }
                }
            } else if let postgresURL {
                let list = columns.map { "\($0)::text" }.joined(separator: ", ")
                let connection = try Self.connect(to: postgresURL)
                defer { try? connection.close().wait() }
                let result = try connection.query(PostgresQuery(unsafeSQL: "SELECT \(list) FROM \(table)"),
                                                  logger: Self.logger).wait()
                tables[table] = try result.rows.map { row in try row.makeRandomAccess().map { try $0.decode(String?.self) } }
            }
            tables[table]?.sort { $0.map { $0 ?? "\u{0}" }.lexicographicallyPrecedes($1.map { $0 ?? "\u{0}" }) }
        }
        return tables
    }

    private static func run(on url: String, _ statements: [String]) throws {
        let connection = try connect(to: url)
        defer { try? connection.close().wait() }
        for statement in statements {
            _ = try connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).wait()
        }
    }

    private static func connect(to url: String) throws -> PostgresConnection {
        try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                       configuration: try PostgresLocation(url: url).connectionConfiguration(), id: 1,
                                       logger: logger).wait()
    }

    private static let logger = Logger(label: "vmdb.repair-tests")
}
