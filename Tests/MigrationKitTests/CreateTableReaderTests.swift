import Foundation
import GRDB
import Testing
import VMDBTestSupport

@testable import MigrationKit

/// The CREATE TABLE reader against SQLite itself (issue 12, class 1): thousands of
/// generated statements run on an in-memory database, and what the reader takes out
/// of each (column names and order, declared types, primary key, generated columns,
/// WITHOUT ROWID, STRICT) compared with `pragma_table_xinfo` and `pragma_table_list`.
/// Then a real recreation of some of them, compared with the table before it.
///
/// `VMDB_READER_SEED` and `VMDB_READER_STATEMENTS` run another or a longer sweep.
@Suite struct CreateTableReaderTests {
    static let seed = UInt64(ProcessInfo.processInfo.environment["VMDB_READER_SEED"] ?? "") ?? 12
    static let count = Int(ProcessInfo.processInfo.environment["VMDB_READER_STATEMENTS"] ?? "") ?? 4000

    /// What the reader claims of each column, in `pragma_table_xinfo`'s terms: name, type, pk, hidden.
    static func claims(_ statement: CreateTableStatement) -> [[String]] {
        statement.columns.map { [$0.name, $0.declaredType, "\($0.primaryKeyPosition)", $0.generated == .virtual ? "2" : $0.generated == .stored ? "3" : "0"] }
            + [["WITHOUT ROWID \(statement.isWithoutRowid)", "STRICT \(statement.isStrict)"]]
    }

    /// What SQLite says of the same.
    static func facts(_ db: Database, table: String) throws -> [[String]] {
        try Row.fetchAll(db, sql: "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", arguments: [table])
            .map { [$0["name"], $0["type"], "\($0["pk"] as Int)", "\($0["hidden"] as Int)"] }
            + (try Row.fetchAll(db, sql: "SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?", arguments: [table])
                .map { ["WITHOUT ROWID \(($0["wr"] as Int) == 1)", "STRICT \(($0["strict"] as Int) == 1)"] })
    }

    /// The one table the statement made, by SQLite's spelling, and its stored SQL.
    static func createdTable(_ db: Database) throws -> (name: String, sql: String)? {
        try Row.fetchOne(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
            .map { ($0["name"], $0["sql"]) }
    }

    struct Sweep {
        var tried = 0
        var accepted = 0
        var mismatches: [String] = []
    }

    @Test func theReaderAgreesWithSQLiteOnThousandsOfGeneratedStatements() throws {
        var generator = CreateTableGenerator(seed: Self.seed)
        var sweep = Sweep()
        let queue = try DatabaseQueue()
        try queue.writeWithoutTransaction { db in
            for _ in 0..<Self.count {
                let statement = generator.statement()
                sweep.tried += 1
                try db.inSavepoint {
                    do { try db.execute(sql: statement.sql) } catch is DatabaseError { return .rollback }
                    sweep.accepted += 1
                    guard let (table, stored) = try Self.createdTable(db) else {
                        sweep.mismatches.append("no table made by \(statement.sql)")
                        return .rollback
                    }
                    let facts = try Self.facts(db, table: table)
                    // What vmdb reads is sqlite_master's text; the statement as written too.
                    for sql in [stored, statement.sql] {
                        do {
                            let reading = try CreateTableStatement(sql: sql)
                            if reading.tableName != table {
                                sweep.mismatches.append("\(sql)\n  table name: reader \(reading.tableName), SQLite \(table)")
                            }
                            if Self.claims(reading) != facts {
                                sweep.mismatches.append("\(sql)\n  reader: \(Self.claims(reading))\n  SQLite: \(facts)")
                            } else if !(try reading.disagreements(db, table: table)).isEmpty {
                                sweep.mismatches.append("\(sql)\n  the run-time check disagrees: \(try reading.disagreements(db, table: table))")
                            }
                        } catch {
                            sweep.mismatches.append("\(sql)\n  unreadable: \(error)")
                        }
                    }
                    return .rollback
                }
            }
        }
        print(
            "CreateTableReaderTests (seed \(Self.seed)): \(sweep.tried) statements, \(sweep.accepted) accepted by SQLite \(Self.sqliteLibVersion()), \(sweep.mismatches.count) mismatches"
        )
        #expect(sweep.accepted > sweep.tried / 3, "the generator makes too few valid statements to mean anything")
        #expect(sweep.mismatches.isEmpty, "\(sweep.mismatches.count) mismatches, first:\n\(sweep.mismatches.prefix(5).joined(separator: "\n\n"))")
    }

    // MARK: Recreation

    /// SQLite's description of a table and what hangs off it, for before and after.
    struct Shape: Equatable, CustomStringConvertible {
        var columns: [[String]] = []
        var indexes: [[String]] = []
        var foreignKeys: [[String]] = []
        var options: [[String]] = []
        var sql: String?
        var rows: [String] = []

        var description: String {
            "columns \(columns)\n  indexes \(indexes)\n  foreign keys \(foreignKeys)\n  options \(options)\n  sql \(sql ?? "-")\n  rows \(rows)"
        }

        func differences(to other: Shape) -> [String] {
            var found: [String] = []
            if columns != other.columns { found.append("  columns before \(columns)\n          after  \(other.columns)") }
            if indexes != other.indexes { found.append("  indexes before \(indexes)\n          after  \(other.indexes)") }
            if foreignKeys != other.foreignKeys { found.append("  foreign keys before \(foreignKeys)\n               after  \(other.foreignKeys)") }
            if options != other.options { found.append("  options before \(options), after \(other.options)") }
            if sql != other.sql { found.append("  sql before \(sql ?? "-")\n      after  \(other.sql ?? "-")") }
            if rows != other.rows { found.append("  rows before \(rows)\n       after  \(other.rows)") }
            return found
        }

        static func read(_ db: Database, table: String) throws -> Shape {
            func strings(_ sql: String, _ argument: String) throws -> [[String]] {
                try Row.fetchAll(db, sql: sql, arguments: [argument]).map { row in row.databaseValues.map(\.description) }
            }
            var shape = Shape()
            shape.columns = try strings("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", table)
            for index in try strings("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?) ORDER BY name", table) {
                let keys = try strings("SELECT name, \"desc\", coll, key FROM pragma_index_xinfo(?) ORDER BY seqno", index[0])
                shape.indexes.append(index + keys.flatMap { $0 })
            }
            shape.foreignKeys = try strings(
                "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete, match FROM pragma_foreign_key_list(?) ORDER BY id, seq", table)
            shape.options = try strings("SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?", table)
            // The table's own name aside (RENAME writes it its way: `"it's"` for `'it''s'`).
            let stored = try CreateTableStatement.read(db, table: table).sql(renamedTo: "t")
            shape.sql = SchemaObject(type: "table", name: table, table: table, sql: stored).normalizedSQL
            shape.rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table.quotedIdentifier)").map { "\(Array($0.databaseValues))" }.sorted()
            return shape
        }
    }

    /// Every fourth accepted statement: the table gets an index and a few rows, then is
    /// rebuilt by ``TableRecreation`` (as a migration would: from a definition holding
    /// only its first column, the others carried over from the reading, or from its own
    /// definition whole), and must come back the same: columns, types, defaults,
    /// keys, indexes, foreign keys, options, SQL (normalized) and rows.
    @Test func aRecreatedTableHasTheShapeAndRowsItHadBefore() throws {
        var generator = CreateTableGenerator(seed: Self.seed)
        var values = SeededRandom(seed: Self.seed ^ 0xC0FFEE)
        var accepted = 0
        var recreated = 0
        var rowsCopied = 0
        var mismatches: [String] = []
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false  // as the migration runs it
        for _ in 0..<Self.count {
            let statement = generator.statement()
            let queue = try DatabaseQueue(configuration: configuration)
            try queue.writeWithoutTransaction { db in
                do { try db.execute(sql: statement.sql) } catch is DatabaseError { return }
                accepted += 1
                guard accepted % 4 == 0, let (table, _) = try Self.createdTable(db) else { return }
                let reading = try CreateTableStatement.read(db, table: table)
                if let first = reading.insertableColumns.first {
                    try db.execute(sql: "CREATE INDEX \("\(table) idx".quotedIdentifier) ON \(table.quotedIdentifier)(\(first.name.quotedIdentifier) DESC)")
                }
                let columns = reading.insertableColumns.map(\.name.quotedIdentifier).joined(separator: ", ")
                let placeholders = reading.insertableColumns.map { _ in "?" }.joined(separator: ", ")
                for _ in 0..<4 {
                    let row = reading.insertableColumns.map { _ in
                        values.pick([1, 2, "a", "größe", 3.5, Data([0, 1]), nil] as [(any DatabaseValueConvertible)?])
                    }
                    try? db.execute(sql: "INSERT INTO \(table.quotedIdentifier) (\(columns)) VALUES (\(placeholders))", arguments: StatementArguments(row))
                }
                let before = try Shape.read(db, table: table)
                var definition = MigrationDefinition()
                let carryAll = recreated % 2 == 0
                let createSQL = carryAll ? reading.sql(removingColumns: Array(reading.columnNames.dropFirst())) : reading.sql
                definition.recreations = [.init(table: table, createSQL: createSQL, copySQL: nil, copyAlias: nil)]
                let recreation = TableRecreation(definition: definition, parameters: [:], log: nil, progress: nil, bookkeepingPrefix: "vmdb_")
                do {
                    let captured = try recreation.replaceTables(db)
                    _ = try recreation.restore(db, captured)
                    let after = try Shape.read(db, table: table)
                    if after != before {
                        mismatches.append(
                            "\(statement.sql)\n  carrying \(carryAll ? "all but the first column" : "no column")\n"
                                + before.differences(to: after).joined(separator: "\n"))
                    }
                } catch {
                    mismatches.append("\(statement.sql)\n  carrying \(carryAll ? "all but the first column" : "no column")\n  the recreation failed: \(error)")
                }
                recreated += 1
                rowsCopied += before.rows.count
            }
        }
        print("CreateTableReaderTests recreations (seed \(Self.seed)): \(recreated) tables, \(rowsCopied) rows, \(mismatches.count) mismatches")
        #expect(recreated > 100)
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first:\n\(mismatches.prefix(3).joined(separator: "\n\n"))")
        if let file = ProcessInfo.processInfo.environment["VMDB_READER_MISMATCHES"] {
            try mismatches.joined(separator: "\n\n").write(toFile: file, atomically: true, encoding: .utf8)
        }
    }

    static func sqliteLibVersion() -> String {
        (try? DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") }) ?? "?"
    }
}
