import ContentHash
import Logging
import PostgresNIO

/// The content hash of a PostgreSQL table's rows, equal to SQLite's (`ContentHasher`
/// in SQLiteFiles) for the same values: each cell is read in PostgreSQL's binary
/// format and put into the one canonical value model `ContentDigest` encodes.
///
/// The mapping is the one `vmdb copy` gives SQLite's storage classes (INTEGER →
/// `bigint`, REAL → `double precision`, TEXT → `text`, BLOB → `bytea`), so a value
/// that arrived changed, or arrived as another type, changes the hash. A type with
/// no SQLite counterpart is refused by name: the caller casts it in the expression.
public enum PostgresContentHasher {
    /// Hashes `SELECT expressions FROM table [WHERE filter]`, streaming (memory stays flat
    /// in the row count), on `connection`, inside whatever transaction it has open (an
    /// exported snapshot, a cut-over's lock).
    /// - Parameter labels: one per expression, encoded as a text value before that expression's value.
    public static func hash(_ connection: PostgresConnection, table: String, expressions: [String], filter: String? = nil,
                            bindings: PostgresBindings = PostgresBindings(), labels: [String]? = nil,
                            logger: Logger = Logger(label: "vmdb.content-hash")) async throws -> ContentDigest.Result {
        precondition(labels == nil || labels?.count == expressions.count, "one label per expression")
        return try await hash(connection, query: PostgresQuery(unsafeSQL: selectSQL(table: table, expressions: expressions, filter: filter), binds: bindings),
                              table: table, labels: labels, logger: logger)
    }

    /// `SELECT expressions FROM table [WHERE filter]`, to bind and hash with ``hash(_:query:table:labels:logger:)``.
    static func selectSQL(table: String, expressions: [String], filter: String? = nil) -> String {
        let selectList = expressions.isEmpty ? "NULL" : expressions.joined(separator: ", ")
        return "SELECT \(selectList) FROM \(PostgresIdentifier.quoted(table))" + (filter.map { " WHERE \($0)" } ?? "")
    }

    /// Hashes the rows of `query` (one select over `table`, named in errors).
    static func hash(_ connection: PostgresConnection, query: PostgresQuery, table: String, labels: [String]?,
                     logger: Logger) async throws -> ContentDigest.Result {
        let labels = labels.map { $0.map { Array($0.utf8) } }
        var digest = ContentDigest()
        let rows = try await connection.query(query, logger: logger)
        for try await row in rows {
            digest.beginRow()
            for cell in row {
                if let labels { digest.appendLabel(labels[cell.columnIndex]) }
                try append(cell, to: &digest, table: table)
            }
            digest.endRow()
        }
        return digest.result
    }

    /// The hash of every ordinary column of `table` (not generated ones: they follow from
    /// the others), each value preceded by its column's name, the columns in name order:
    /// SQLite's `ContentHasher.hashAllColumns` of the same rows gives the same hash.
    public static func hashAllColumns(_ connection: PostgresConnection, table: String,
                                      logger: Logger = Logger(label: "vmdb.content-hash")) async throws -> ContentDigest.Result {
        let names = try await columnNames(connection, table: table, logger: logger).sorted()
        guard !names.isEmpty else { return .empty }
        return try await hash(connection, table: table, expressions: names.map(PostgresIdentifier.quoted), labels: names, logger: logger)
    }

    /// The table's ordinary columns (not dropped, not generated), as the catalog names them.
    public static func columnNames(_ connection: PostgresConnection, table: String, logger: Logger) async throws -> [String] {
        let query: PostgresQuery = """
            SELECT attname::text FROM pg_attribute
            WHERE attrelid = to_regclass(\(PostgresIdentifier.quoted(table))) AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
            """
        var names: [String] = []
        for try await (name) in try await connection.query(query, logger: logger).decode(String.self) { names.append(name) }
        return names
    }

    /// One cell, in the canonical model.
    private static func append(_ cell: PostgresCell, to digest: inout ContentDigest, table: String) throws {
        guard var bytes = cell.bytes else { return digest.appendNull() }
        guard cell.format == .binary else { throw PostgresContentHashError.unexpectedFormat(table: table, column: cell.columnName) }
        switch cell.dataType {
        case .int8:
            guard let value = bytes.readInteger(as: Int64.self) else { throw malformed(cell, table) }
            digest.appendInteger(value)
        case .int4:
            guard let value = bytes.readInteger(as: Int32.self) else { throw malformed(cell, table) }
            digest.appendInteger(Int64(value))
        case .int2:
            guard let value = bytes.readInteger(as: Int16.self) else { throw malformed(cell, table) }
            digest.appendInteger(Int64(value))
        case .bool:
            // SQLite keeps booleans as the integers 0 and 1.
            guard let value = bytes.readInteger(as: UInt8.self) else { throw malformed(cell, table) }
            digest.appendInteger(value == 0 ? 0 : 1)
        case .float8:
            guard let bits = bytes.readInteger(as: UInt64.self) else { throw malformed(cell, table) }
            appendReal(Double(bitPattern: bits), to: &digest)
        case .float4:
            guard let bits = bytes.readInteger(as: UInt32.self) else { throw malformed(cell, table) }
            appendReal(Double(Float(bitPattern: bits)), to: &digest)
        case .text, .varchar, .name, .bpchar:
            bytes.withUnsafeReadableBytes { digest.appendText($0.baseAddress, count: $0.count) }
        case .bytea:
            bytes.withUnsafeReadableBytes { digest.appendBlob($0.baseAddress, count: $0.count) }
        default:
            throw PostgresContentHashError.unsupportedType(table: table, column: cell.columnName, type: "\(cell.dataType)")
        }
    }

    /// A real as SQLite holds it: SQLite stores a NaN as NULL, so a NaN hashes as NULL.
    private static func appendReal(_ value: Double, to digest: inout ContentDigest) {
        if value.isNaN { digest.appendNull() } else { digest.appendReal(value) }
    }

    private static func malformed(_ cell: PostgresCell, _ table: String) -> PostgresContentHashError {
        .malformedValue(table: table, column: cell.columnName, type: "\(cell.dataType)")
    }
}
