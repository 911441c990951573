import GRDB
import GRDBSQLite

/// Binds and steps the store's hot statements (provision, lookups, delete by
/// pair) through SQLite's C API, on statements GRDB prepared and caches.
///
/// Why: GRDB's `execute(arguments:)` and cursors build a `StatementArguments`
/// array and run per-statement bookkeeping (observation, region tracking,
/// suspension checks) on every call. Profiled, that was a third of a
/// provision, which kept it at 0.70x the raw C API (BENCHMARKS.md). GRDB still
/// opens the connections, caches the statements and runs the transactions;
/// the store registers no observers for that bookkeeping to serve.
///
/// Callers refuse text holding a NUL first (``VMStore/Writer``): bound with
/// its length, such text would be stored whole but read back cut short.
enum DirectStatement {
    /// SQLite copies the value before the bind call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func bind(_ statement: SQLiteStatement, _ index: CInt, _ value: String?) {
        guard var value else {
            sqlite3_bind_null(statement, index)
            return
        }
        value.withUTF8 { bytes in
            // An empty buffer may have no address, which SQLite would bind as NULL.
            if let address = bytes.baseAddress {
                sqlite3_bind_text(statement, index, UnsafeRawPointer(address).assumingMemoryBound(to: CChar.self),
                                  CInt(bytes.count), transient)
            } else {
                sqlite3_bind_text(statement, index, "", 0, transient)
            }
        }
    }

    static func bind(_ statement: SQLiteStatement, _ index: CInt, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    /// Binds with `bindValues`, steps a statement that returns no rows, and resets it.
    ///
    /// - Throws: GRDB's `DatabaseError` with SQLite's extended result code.
    static func execute(_ statement: Statement, _ bindValues: (SQLiteStatement) -> Void) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        bindValues(handle)
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw failure(statement) }
        sqlite3_reset(handle)
    }

    /// Binds with `bindValues` (nothing when GRDB bound the arguments already),
    /// steps through every row, decoding each, and resets the statement, which
    /// also ends its read transaction when no other is open.
    static func rows<Element>(_ statement: Statement, _ bindValues: (SQLiteStatement) -> Void = { _ in },
                              decode: (SQLiteStatement) throws -> Element) throws -> [Element] {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        bindValues(handle)
        defer { sqlite3_reset(handle) }
        var elements: [Element] = []
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: elements.append(try decode(handle))
            case SQLITE_DONE: return elements
            default: throw failure(statement)
            }
        }
    }

    /// The error of the last step, read before the reset that follows it.
    private static func failure(_ statement: Statement) -> DatabaseError {
        let handle = statement.sqliteStatement
        let connection = sqlite3_db_handle(handle)
        let error = DatabaseError(resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
                                  message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
        sqlite3_reset(handle)
        return error
    }
}
