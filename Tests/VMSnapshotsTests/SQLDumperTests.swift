import Foundation
import GRDB
import SQLiteFiles
import Testing
import VMDBTestSupport
@testable import VMSnapshots

/// The dump reads back as exactly the database it was written from.
@Suite struct SQLDumperTests {
    @Test func awkwardValuesRoundTrip() throws {
        let directory = try TemporaryDirectory("dump")
        let queue = try DatabaseQueue(path: directory.file("source.db"))
        try queue.write { db in
            try db.execute(sql: #"""
                CREATE TABLE "order" (id INTEGER PRIMARY KEY AUTOINCREMENT, t TEXT, b BLOB, r REAL, i INTEGER, any_value,
                                      doubled INTEGER GENERATED ALWAYS AS (i * 2) VIRTUAL);
                CREATE TABLE "odd ""name""" (x);
                CREATE INDEX order_t ON "order"(t);
                """#)
            let values: [(String?, [UInt8]?, Double?, Int64?)] = [
                ("nul", [], 0.1, Int64.min),
                ("new\nline\r\ttab\u{7f}", [0, 255, 1], 1e300, Int64.max),
                ("it's", nil, Double.leastNonzeroMagnitude, 0),
                ("", nil, .infinity, nil),
                ("🚀 e\u{301}", nil, -1.5, -1),
            ]
            for value in values {
                try db.execute(sql: "INSERT INTO \"order\" (t, b, r, i, any_value) VALUES (?, ?, ?, ?, ?)",
                               arguments: [value.0, value.1.map { Data($0) }, value.2, value.3, value.3 == 0 ? "text in any" : nil])
            }
            // A NUL inside text (GRDB binds strings only up to a NUL), and text that is not valid UTF-8.
            try db.execute(sql: "UPDATE \"order\" SET t = t || char(0) || 'inside' WHERE t = 'nul'")
            try db.execute(sql: "INSERT INTO \"order\" (t) VALUES (CAST(X'FF00FE' AS TEXT))")
            try db.execute(sql: "INSERT INTO \"odd \"\"name\"\"\" VALUES (1), ('x'), (NULL)")
            try db.execute(sql: "ANALYZE")
        }
        let dump = try queue.read { try SQLDumper().dump($0, header: ["test"]) }
        #expect(dump.split(separator: "\n").count == dump.filter { $0 == "\n" }.count, "one statement per line")
        #expect(dump.contains("char(0)") && dump.contains("CAST(X'FF00FE' AS TEXT)") && dump.contains("DELETE FROM sqlite_sequence;"))
        let copy = directory.file("copy.db")
        try SnapshotFiles.load(dump: dump, to: copy, journalMode: "wal")
        let original = try queue.read { db in try ["order", "odd \"name\""].map { try ContentHasher.hashAllColumns(db, table: $0).hash } }
        let loaded = try DatabaseQueue(path: copy).read { db in try ["order", "odd \"name\""].map { try ContentHasher.hashAllColumns(db, table: $0).hash } }
        #expect(original == loaded)
        let sequence = try DatabaseQueue(path: copy).read { try Int.fetchOne($0, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'order'") }
        #expect(sequence == 6)
        // Dumping the copy gives the same text: the dump is a fixed point.
        #expect(try DatabaseQueue(path: copy).read { try SQLDumper().dump($0, header: ["test"]) } == dump)
    }

    @Test func contentHashIgnoresRowOrderButNotContent() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE a (x, y); CREATE TABLE b (y, x); CREATE TABLE c (x, y)")
            try db.execute(sql: "INSERT INTO a VALUES (1, 'one'), (2, 'two')")
            try db.execute(sql: "INSERT INTO b VALUES ('two', 2), ('one', 1)")
            try db.execute(sql: "INSERT INTO c VALUES (1, 'one'), (2, 'two '), (3, NULL)")
        }
        let (a, b, c) = try queue.read { db in
            (try ContentHasher.hashAllColumns(db, table: "a"), try ContentHasher.hashAllColumns(db, table: "b"), try ContentHasher.hashAllColumns(db, table: "c"))
        }
        #expect(a.hash == b.hash && a.rows == 2)
        #expect(a.hash != c.hash)
        // A renamed column changes it: the names are hashed with the values.
        try queue.write { try $0.execute(sql: "ALTER TABLE a RENAME COLUMN y TO z") }
        #expect(try queue.read { try ContentHasher.hashAllColumns($0, table: "a") }.hash != b.hash)
    }
}
