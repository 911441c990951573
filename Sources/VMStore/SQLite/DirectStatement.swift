import GRDB
import GRDBSQLite

/// Binds and steps the store's hot statements (provision, lookups, delete by
/// pair) through SQLite's C API, on statements GRDB prepared and caches.
///
/// Why: GRDB's `execute(arguments:)` and cursors build a `StatementArguments`
/// array and run per-statement bookkeeping (observation, region tracking,
/// suspension checks) on every call. Profiled, that was a third of a
/// provision, which kept it at 0.70x the raw C API (BENCHMARKS.md). GRDB still
/// opens the connections, caches the statements and runs the transactions.
/// GRDB's observers (the deployer's ValueObservation or TransactionObserver on its
/// own pool) do not see these statements: the store's writer notifies them once per
/// transaction instead (``VMStore/Writer``, `Database.notifyChanges(in:)`).
///
/// Callers refuse text holding a NUL first (``VMStore/Writer``): bound with
/// its length, such text would be stored whole but read back cut short.
enum DirectStatement {
    /// SQLite copies the value before the bind call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func bind(_ statement: SQLiteStatement, _ index: CInt, _ value: String?) throws {
        guard var value else {
            return try check(sqlite3_bind_null(statement, index))
        }
        let code = value.withUTF8 { bytes -> CInt in
            guard bytes.count <= Int(CInt.max) else { return SQLITE_TOOBIG }
            // An empty buffer may have no address, which SQLite would bind as NULL.
            guard let address = bytes.baseAddress else { return sqlite3_bind_text(statement, index, "", 0, transient) }
            return sqlite3_bind_text(statement, index, UnsafeRawPointer(address).assumingMemoryBound(to: CChar.self),
                                     CInt(bytes.count), transient)
        }
        try check(code)
    }

    static func bind(_ statement: SQLiteStatement, _ index: CInt, _ value: Int64?) throws {
        let code = if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
        try check(code)
    }

    /// A bind that fails (SQLITE_TOOBIG, SQLITE_NOMEM) leaves the parameter NULL: never step with it.
    private static func check(_ code: CInt) throws {
        guard code != SQLITE_OK else { return }
        let message = code == SQLITE_TOOBIG ? "a value is too large to bind" : String(cString: sqlite3_errstr(code))
        throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
    }

    /// Binds with `bindValues`, steps a statement that returns no rows, and resets it.
    ///
    /// For writes inside a transaction, which SQLite may have rolled back on
    /// its own after an earlier failure (SQLITE_FULL, SQLITE_IOERR): the
    /// statement then refuses to run rather than commit alone in autocommit
    /// mode (GRDB makes the same check before each statement it runs).
    ///
    /// - Throws: GRDB's `DatabaseError` with SQLite's extended result code.
    static func executeInTransaction(_ statement: Statement, _ bindValues: (SQLiteStatement) throws -> Void) throws {
        let handle = statement.sqliteStatement
        try requireTransaction(handle)
        sqlite3_reset(handle)
        try bindValues(handle)
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw failure(statement) }
        sqlite3_reset(handle)
    }

    /// Binds with `bindValues` (nothing when GRDB bound the arguments already),
    /// steps through every row, decoding each, and resets the statement, which
    /// also ends its read transaction when no other is open.
    /// `inTransaction`: a write that must not run once its transaction is gone (see above).
    static func rows<Element>(_ statement: Statement, inTransaction: Bool = false, _ bindValues: (SQLiteStatement) throws -> Void = { _ in },
                              decode: (SQLiteStatement) throws -> Element) throws -> [Element] {
        let handle = statement.sqliteStatement
        if inTransaction { try requireTransaction(handle) }
        sqlite3_reset(handle)
        try bindValues(handle)
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

    private static func requireTransaction(_ handle: SQLiteStatement) throws {
        guard sqlite3_get_autocommit(sqlite3_db_handle(handle)) == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "the write transaction was rolled back by an earlier failure; nothing more is written in it")
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
