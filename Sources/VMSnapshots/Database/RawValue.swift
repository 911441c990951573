import GRDB
import GRDBSQLite

/// A column value exactly as SQLite stores it.
///
/// Read through the C API rather than GRDB's `DatabaseValue`, whose strings stop
/// at the first NUL byte and must be valid UTF-8: a dump or a hash that lost
/// either would not be the database it claims to be.
enum RawValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    /// The bytes of a TEXT value (usually, but not always, valid UTF-8).
    case text([UInt8])
    case blob([UInt8])

    /// Calls `body` with each row of `sql`, as raw values, streaming.
    static func forEachRow(_ db: Database, sql: String, _ body: ([RawValue]) throws -> Void) throws {
        let statement = try db.makeStatement(sql: sql)
        let handle = statement.sqliteStatement
        let columnCount = sqlite3_column_count(handle)
        var row: [RawValue] = []
        row.reserveCapacity(Int(columnCount))
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: sql)
            }
            row.removeAll(keepingCapacity: true)
            for column in 0..<columnCount {
                row.append(value(handle, column))
            }
            try body(row)
        }
        sqlite3_reset(handle)
    }

    private static func value(_ handle: OpaquePointer?, _ column: Int32) -> RawValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            let bytes = sqlite3_column_text(handle, column)
            let length = Int(sqlite3_column_bytes(handle, column))
            guard let bytes, length > 0 else { return .text([]) }
            return .text(Array(UnsafeBufferPointer(start: bytes, count: length)))
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(handle, column)
            let length = Int(sqlite3_column_bytes(handle, column))
            guard let bytes, length > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: length)))
        default:
            return .null
        }
    }
}
