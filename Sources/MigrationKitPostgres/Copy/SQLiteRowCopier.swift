import Foundation
import GRDB
import Logging
import MigrationKit
import SQLiteFiles
import PostgresNIO

/// Copies a SQLite database's rows into the PostgreSQL tables of the same names, which exist
/// already (made by the PostgreSQL migrations at the same version), with bound multi-row
/// `INSERT`s: every value a parameter, `batchRows` rows a statement (docs/POSTGRESQL-DESIGN.md,
/// `vmdb copy`).
///
/// Each value keeps its type (SQLite's INTEGER -> `bigint`, REAL -> `double precision`,
/// TEXT -> `text`, BLOB -> `bytea`), so the content hash of a copied table is SQLite's
/// (`PostgresContentHasher`). A value its column cannot take as it is (a REAL in a `bigint`, a
/// TEXT holding a NUL, which PostgreSQL's `text` cannot hold, …) is refused by table, column and
/// rowid, before its statement runs: nothing is converted silently.
///
/// Tables are filled referenced ones first, so that foreign keys hold as rows arrive; identity
/// columns' sequences are moved past the copied values. Run it inside a transaction of the
/// caller's: a refusal then leaves nothing behind.
public struct SQLiteRowCopier: Sendable {
    /// What was copied of one table.
    public struct CopiedTable: Sendable, Codable, Equatable {
        public let table: String
        public let rows: Int
        /// The SQLite table's columns the PostgreSQL table does not have (an operator's), not copied.
        public let columnsNotCopied: [String]
    }

    public struct Report: Sendable, Codable, Equatable {
        public var tables: [CopiedTable] = []
        /// SQLite tables with no PostgreSQL table of that name (an operator's), not copied.
        public var tablesNotCopied: [String] = []
    }

    /// The tool's bookkeeping tables (the migration history), which each side keeps for itself.
    public let excludingPrefix: String
    /// Rows per `INSERT` (fewer when the table is wide: a statement binds at most 65,535 values).
    public var batchRows = 500

    public init(excludingPrefix: String) {
        self.excludingPrefix = excludingPrefix
    }

    /// Copies every row of every table `source` and the current schema on `connection` both have.
    ///
    /// - Throws: ``MigrationError`` `rowsNotCarried` naming the table, column and rowid of a value
    ///   that does not fit; the server's errors as they come (a foreign key the rows break, …).
    public func copy(from source: any DatabaseReader, to connection: PostgresConnection,
                     logger: Logger = Logger(label: "vmdb.copy")) async throws -> Report {
        let sqliteTables = try await source.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        }.filter { !$0.hasPrefix(excludingPrefix) }
        let targets = try await Self.tablesInDependencyOrder(connection, logger: logger)
        var report = Report()
        report.tablesNotCopied = sqliteTables.filter { !targets.contains($0) }.sorted()
        for table in targets where sqliteTables.contains(table) {
            report.tables.append(try await copy(table, from: source, to: connection, logger: logger))
        }
        return report
    }

    /// A column of the target table: its name and how a SQLite value must be to go in it.
    struct TargetColumn {
        enum Kind { case integer(ClosedRange<Int64>), boolean, real, text, blob }
        let name: String
        let kind: Kind
        let typeName: String
        let isIdentity: Bool
    }

    private func copy(_ table: String, from source: any DatabaseReader, to connection: PostgresConnection,
                      logger: Logger) async throws -> CopiedTable {
        let sourceColumns = try await source.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0", arguments: [table])
        }
        let columns = try await Self.columns(of: table, connection, logger: logger).filter { sourceColumns.contains($0.name) }
        let notCopied = sourceColumns.filter { name in !columns.contains { $0.name == name } }
        guard !columns.isEmpty else { return CopiedTable(table: table, rows: 0, columnsNotCopied: notCopied) }
        let perStatement = max(1, min(batchRows, 65_535 / columns.count))
        // A text is read as its bytes: GRDB reads text only up to a NUL, which would cut it short silently.
        let selectList = columns.map { column -> String in
            let name = column.name.quotedIdentifier
            return "typeof(\(name)) = 'text', CASE WHEN typeof(\(name)) = 'text' THEN CAST(\(name) AS BLOB) ELSE \(name) END"
        }.joined(separator: ", ")
        let insertHead = "INSERT INTO \(PostgresIdentifier.quoted(table)) (\(columns.map { PostgresIdentifier.quoted($0.name) }.joined(separator: ", "))) VALUES "
        var lastRowID = Int64.min
        var copied = 0
        while true {
            // One batch per read, by rowid: memory holds one statement's rows.
            let after = lastRowID
            let rows = try await source.read { db in
                try Row.fetchAll(db, sql: "SELECT rowid, \(selectList) FROM \(table.quotedIdentifier) WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                 arguments: [after, perStatement]).map { Array($0.databaseValues) }
            }
            guard let last = rows.last else { break }
            lastRowID = Int64.fromDatabaseValue(last[0]) ?? .max
            var bindings = PostgresBindings(capacity: rows.count * columns.count)
            var tuples: [String] = []
            tuples.reserveCapacity(rows.count)
            for row in rows {
                let rowID = Int64.fromDatabaseValue(row[0]) ?? 0
                var placeholders: [String] = []
                for (index, column) in columns.enumerated() {
                    let isText = Bool.fromDatabaseValue(row[1 + 2 * index]) ?? false
                    try Self.bind(row[2 + 2 * index], isText: isText, into: &bindings, column: column, table: table, rowID: rowID)
                    placeholders.append("$\(bindings.count)")
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            _ = try await connection.query(PostgresQuery(unsafeSQL: insertHead + tuples.joined(separator: ", "), binds: bindings),
                                           logger: logger).collect()
            copied += rows.count
        }
        for column in columns where column.isIdentity && copied > 0 {
            // Past the copied ids, so that the next insert does not collide with one.
            var bindings = PostgresBindings()
            bindings.append(PostgresIdentifier.quoted(table))
            bindings.append(column.name)
            _ = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence($1, $2), (SELECT max(\(PostgresIdentifier.quoted(column.name))) FROM \(PostgresIdentifier.quoted(table))))
                """, binds: bindings), logger: logger).collect()
        }
        return CopiedTable(table: table, rows: copied, columnsNotCopied: notCopied)
    }

    /// Binds `value` (a text read as its bytes when `isText`) as its column takes it, or refuses it by name.
    static func bind(_ value: DatabaseValue, isText: Bool, into bindings: inout PostgresBindings, column: TargetColumn, table: String,
                     rowID: Int64) throws {
        func refuse(_ what: String) -> MigrationError {
            MigrationError(.rowsNotCarried, "\(table).\(column.name), rowid \(rowID): \(what), which PostgreSQL's \(column.typeName) cannot take as it is. Nothing was copied: fix the row, or the column's type")
        }
        switch (value.storage, column.kind) {
        case (.null, _) where isText:   // an empty text's bytes
            guard case .text = column.kind else { throw refuse("a TEXT") }
            bindings.append("")
        case (.null, _):
            bindings.appendNull()
        case (.blob(let bytes), .text) where isText:
            guard let text = String(data: bytes, encoding: .utf8) else { throw refuse("a TEXT that is not valid UTF-8") }
            guard !bytes.contains(0) else { throw refuse("a TEXT holding a NUL character") }
            bindings.append(text)
        case (_, _) where isText:
            throw refuse("a TEXT")
        case (.int64(let integer), .integer(let range)):
            guard range.contains(integer) else { throw refuse("the INTEGER \(integer) is out of its range") }
            bindings.append(integer)
        case (.int64(let integer), .boolean):
            guard integer == 0 || integer == 1 else { throw refuse("an INTEGER other than 0 or 1") }
            bindings.append(integer == 1)
        case (.double(let real), .real):
            bindings.append(real)
        case (.blob(let data), .blob):
            bindings.append(ByteBuffer(bytes: data))
        case (.int64, _):
            throw refuse("an INTEGER")
        case (.double, _):
            throw refuse("a REAL")
        case (.string, _):
            throw refuse("a TEXT")   // not met: texts are read as their bytes
        case (.blob, _):
            throw refuse("a BLOB")
        }
    }

    /// The table's ordinary columns (not dropped, not generated) and their types.
    static func columns(of table: String, _ connection: PostgresConnection, logger: Logger) async throws -> [TargetColumn] {
        var bindings = PostgresBindings()
        bindings.append(PostgresIdentifier.quoted(table))
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT attname::text, format_type(atttypid, NULL), attidentity <> '' OR pg_get_serial_sequence($1, attname) IS NOT NULL
            FROM pg_attribute
            WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
            ORDER BY attnum
            """, binds: bindings), logger: logger)
        var columns: [TargetColumn] = []
        for try await (name, type, isIdentity) in rows.decode((String, String, Bool).self) {
            let kind: TargetColumn.Kind
            switch type {
            case "bigint": kind = .integer(Int64.min...Int64.max)
            case "integer": kind = .integer(Int64(Int32.min)...Int64(Int32.max))
            case "smallint": kind = .integer(Int64(Int16.min)...Int64(Int16.max))
            case "boolean": kind = .boolean
            case "double precision": kind = .real
            case "text", "character varying": kind = .text
            case "bytea": kind = .blob
            default:
                throw MigrationError(.rowsNotCarried, "\(table).\(name) is of type \(type) on PostgreSQL, which no SQLite value is copied into (bigint, integer, smallint, boolean, double precision, text, bytea). Nothing was copied")
            }
            columns.append(TargetColumn(name: name, kind: kind, typeName: type, isIdentity: isIdentity))
        }
        return columns
    }

    /// The current schema's tables, each after the tables its foreign keys refer to (a cycle: by name).
    static func tablesInDependencyOrder(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var tables: [String] = []
        for try await name in try await connection.query("""
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname
            """, logger: logger).decode(String.self) {
            tables.append(name)
        }
        var references: [String: Set<String>] = [:]
        for try await (table, referenced) in try await connection.query("""
            SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
            WHERE contype = 'f' AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
            """, logger: logger).decode((String, String).self) where table != referenced {
            references[Self.unquoted(table), default: []].insert(Self.unquoted(referenced))
        }
        var ordered: [String] = []
        var remaining = tables
        while !remaining.isEmpty {
            let pending = Set(remaining)
            let ready = remaining.filter { references[$0, default: []].intersection(pending).subtracting([$0]).isEmpty }
            let next = ready.isEmpty ? [remaining[0]] : ready
            ordered += next
            remaining.removeAll { next.contains($0) }
        }
        return ordered
    }

    /// `regclass::text` quotes a name only when it must.
    private static func unquoted(_ name: String) -> String {
        guard name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 else { return name }
        return String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
    }
}
