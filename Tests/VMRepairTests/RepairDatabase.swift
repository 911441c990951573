import Foundation
import GRDB
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import ShippedMigrations
import PostgresTestSupport
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
/// PostgreSQL database on the test server (`PostgresScratchDatabase`) migrated by the shipped
/// PostgreSQL migrations. Rows are read beside the store, as text.
final class RepairDatabase: Sendable {
    let engine: RepairEngine
    let store: VMStore
    private let file: String?
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

    private init(engine: RepairEngine, store: VMStore, file: String?, postgresURL: String?) {
        (self.engine, self.store, self.file, self.postgresURL) = (engine, store, file, postgresURL)
    }

    /// Runs `body` with a new database on `engine` (dropped after, on PostgreSQL) and a store on it.
    static func with<T: Sendable>(_ engine: RepairEngine, clock: @escaping @Sendable () -> Date,
                                  _ body: @Sendable (RepairDatabase) async throws -> T) async throws -> T {
        switch engine {
        case .sqlite:
            let directory = try TemporaryDirectory("repair-sqlite")
            let path = try Fixtures.database(version: 4, in: directory)
            let database = RepairDatabase(engine: engine, store: try VMStore(path: path, options: .init(clock: clock)), file: path, postgresURL: nil)
            defer {
                try? database.store.close()
                _ = directory   // the folder lives until the store is closed
            }
            return try await body(database)
        case .postgres:
            return try await PostgresScratchDatabase.with { scratch in
                let migrator = PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "repair-tests",
                                                configuration: ShippedMigrations.configuration)
                _ = try await migrator.migrate(scratch.location, to: 4)
                let database = RepairDatabase(engine: engine, store: try VMStore(postgres: scratch.location, clock: clock), file: nil,
                                              postgresURL: scratch.url)
                defer { try? database.store.close() }
                return try await body(database)
            }
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

    /// Runs each statement on a connection of its own, waiting from this thread (as the store does).
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
