import ContentHash
import Foundation
import GRDB
import Logging
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import SQLiteFiles
import Testing
import VMDBTestSupport

/// The content hash is one function on both engines: the same rows, in SQLite and in
/// the real PostgreSQL server with the types `vmdb copy` maps them to, hash equal; a
/// value changed or arrived as another type hashes differently. SQLite is the authority
/// on what the rows are: PostgreSQL gets them as SQLite reads them back, as a copy does
/// (SQLite keeps -0.0 in a REAL column as 0.0, for one).
@Suite struct ContentHashAcrossEnginesTests {
    /// One row of the four storage classes and NULLs.
    struct Row: Sendable {
        var integer: Int64?
        var real: Double?
        var text: String?
        var blob: [UInt8]?
    }

    static let edges: [Row] = [
        Row(integer: 0, real: 0, text: "", blob: []),
        Row(integer: .min, real: -0.0, text: "é💥\u{7f}", blob: [0, 255, 0]),
        Row(integer: .max, real: .infinity, text: "'; DROP TABLE x; --", blob: Array(repeating: 7, count: 5000)),
        Row(integer: -1, real: -.infinity, text: String(repeating: "ü", count: 3000), blob: [1]),
        Row(integer: nil, real: .leastNonzeroMagnitude, text: nil, blob: nil),
        Row(integer: 42, real: .greatestFiniteMagnitude, text: "005o", blob: nil),
        Row(integer: 7, real: 1.5, text: "mainnet", blob: [0x80]),
    ]

    /// Rows from a seeded generator (reproducible), edges first.
    static func rows(_ count: Int, seed: UInt64) -> [Row] {
        var random = SeededRandom(seed: seed)
        let alphabet = Array("abc-_0123456789éü💥 '\"")
        return edges + (0..<count).map { _ in
            Row(integer: Int.random(in: 0...4, using: &random) == 0 ? nil : Int64.random(in: .min ... .max, using: &random),
                real: Int.random(in: 0...4, using: &random) == 0 ? nil : Double.random(in: -1e12...1e12, using: &random),
                text: Int.random(in: 0...4, using: &random) == 0 ? nil : String((0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! }),
                blob: Int.random(in: 0...4, using: &random) == 0 ? nil : (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    static let columns = ["n", "r", "t", "b"]

    /// Writes `rows` to a SQLite table; returns its hashes and the rows as SQLite holds them.
    static func sqliteHash(_ rows: [Row], in directory: TemporaryDirectory)
        throws -> (labelled: ContentDigest.Result, plain: ContentDigest.Result, stored: [Row]) {
        let queue = try DatabaseQueue(path: directory.file("hash.db"))
        return try queue.write { db in
            try db.execute(sql: "CREATE TABLE vms (n INTEGER, r REAL, t TEXT, b BLOB)")
            for row in rows {
                try db.execute(sql: "INSERT INTO vms VALUES (?, ?, ?, ?)",
                               arguments: [row.integer, row.real, row.text, row.blob.map { Data($0) }])
            }
            let stored = try GRDB.Row.fetchAll(db, sql: "SELECT n, r, t, b FROM vms").map { row in
                Row(integer: row[0], real: row[1], text: row[2], blob: (row[3] as Data?).map { Array($0) })
            }
            return (try ContentHasher.hashAllColumns(db, table: "vms"),
                    try ContentHasher.hash(db, table: "vms", expressions: Self.columns), stored)
        }
    }

    /// Runs `body` on a connection to the test server with a table of its own (dropped after).
    static func withTable<T: Sendable>(_ columns: String, _ body: @Sendable (PostgresConnection, String) async throws -> T) async throws -> T {
        let location = try PostgresLocation(url: try PostgresTestServer.url())
        let table = "hash_\(UInt32.random(in: 0...UInt32.max))"
        return try await location.withClient { client in
            try await client.withConnection { connection in
                let logger = Logger(label: "test")
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE TABLE \(table) (\(columns))"), logger: logger)
                do {
                    let result = try await body(connection, table)
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger)
                    return result
                } catch {
                    _ = try? await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(table)"), logger: logger)
                    throw error
                }
            }
        }
    }

    static func insert(_ rows: [Row], into table: String, on connection: PostgresConnection) async throws {
        for row in rows {
            var bindings = PostgresBindings()
            bindings.append(row.integer)
            bindings.append(row.real)
            bindings.append(row.text)
            bindings.append(row.blob.map { ByteBuffer(bytes: $0) })
            try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table) VALUES ($1, $2, $3, $4)", binds: bindings), logger: Logger(label: "test"))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func theSameRowsHashEqualOnBothEngines(seed: UInt64) async throws {
        let rows = Self.rows(200, seed: seed)
        let directory = try TemporaryDirectory("hash-engines")
        let sqlite = try Self.sqliteHash(rows, in: directory)
        let postgres = try await Self.withTable("n bigint, r double precision, t text, b bytea") { connection, table in
            try await Self.insert(sqlite.stored.shuffled(), into: table, on: connection)   // order is not content
            return (try await PostgresContentHasher.hashAllColumns(connection, table: table),
                    try await PostgresContentHasher.hash(connection, table: table, expressions: Self.columns))
        }
        #expect(postgres.0.rows == rows.count && sqlite.labelled.rows == rows.count)
        #expect(postgres.0 == sqlite.labelled, "every column by name: PostgreSQL \(postgres.0.hash), SQLite \(sqlite.labelled.hash)")
        #expect(postgres.1 == sqlite.plain, "the declared expressions: PostgreSQL \(postgres.1.hash), SQLite \(sqlite.plain.hash)")
    }

    @Test func aValueChangedOrArrivedAsAnotherTypeHashesDifferently() async throws {
        let rows = Self.edges
        let directory = try TemporaryDirectory("hash-engines-differ")
        let (_, sqlite, stored) = try Self.sqliteHash(rows, in: directory)
        let changed = { var rows = stored; rows[5].text = "005O"; return rows }()
        let (oneValue, integerAsText, realAsInteger) = try await Self.withTable("n bigint, r double precision, t text, b bytea") { connection, table in
            try await Self.insert(changed, into: table, on: connection)
            let oneValue = try await PostgresContentHasher.hash(connection, table: table, expressions: Self.columns)
            // The same digits, another type: an id copied as text is not the id.
            let integerAsText = try await PostgresContentHasher.hash(connection, table: table, expressions: ["n::text", "r", "t", "b"])
            let realAsInteger = try await PostgresContentHasher.hash(connection, table: table, expressions: ["n", "trunc(r)::bigint", "t", "b"],
                                                                     filter: "r = 1.5")
            return (oneValue, integerAsText, realAsInteger)
        }
        #expect(oneValue.rows == sqlite.rows && oneValue != sqlite)
        #expect(integerAsText != sqlite)
        let sqliteOne = try await DatabaseQueue(path: directory.file("hash.db")).read {
            try ContentHasher.hash($0, table: "vms", expressions: Self.columns, filter: "r = 1.5")
        }
        #expect(realAsInteger.rows == 1 && realAsInteger != sqliteOne, "1.5 read back as the integer 1 must not match the real 1.5")
    }

    @Test func aTypeWithNoSQLiteCounterpartIsRefusedByName() async throws {
        let error = try await Self.withTable("id bigint, amount numeric") { connection, table in
            try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table) VALUES (1, 2.50)"), logger: Logger(label: "test"))
            return await #expect(throws: PostgresContentHashError.self) {
                _ = try await PostgresContentHasher.hashAllColumns(connection, table: table)
            }
        }
        guard case .unsupportedType(_, let column, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(column == "amount")
        #expect("\(error!)".contains("cast it in the expression"))
    }
}
