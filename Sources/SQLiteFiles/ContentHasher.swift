import ContentHash
import Foundation
import GRDB
import GRDBSQLite

/// The content hash of a SQLite table's rows (`ContentDigest`: order-independent,
/// type-tagged, the same encoding on every engine), read straight from SQLite's
/// statement so a million rows cost no per-value allocation.
///
/// The one content hash in vmdb's libraries: a migration's census (its declared
/// columns, before and after) and a snapshot's expected content (every column, by
/// name). The tests' `ContentFingerprint` is kept apart on purpose, as an oracle.
package enum ContentHasher {
    package typealias Lanes = ContentDigest.Lanes
    package typealias Result = ContentDigest.Result

    /// Hashes `SELECT expressions FROM table [WHERE filter]`, streaming: memory stays flat in the row count.
    /// - Parameter bind: sets the statement's arguments, when the expressions or the filter name parameters.
    /// - Parameter labels: one per expression, encoded as a text value before that expression's value.
    package static func hash(_ db: Database, table: String, expressions: [String], filter: String? = nil,
                             labels: [String]? = nil,
                             bind: (Statement) throws -> Void = { _ in }, progress: ((Int) -> Void)? = nil) throws -> Result {
        let selectList = expressions.isEmpty ? "NULL" : expressions.joined(separator: ", ")
        let statement = try db.makeStatement(sql: "SELECT \(selectList) FROM \(table.quotedIdentifier)" + (filter.map { " WHERE \($0)" } ?? ""))
        try bind(statement)
        let handle = statement.sqliteStatement
        let columnCount = sqlite3_column_count(handle)
        let labels = labels.map { $0.map { Array($0.utf8) } }
        precondition(labels == nil || labels?.count == Int(columnCount), "one label per expression")
        var digest = ContentDigest()
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
            }
            digest.beginRow()
            for column in 0..<columnCount {
                if let labels { digest.appendLabel(labels[Int(column)]) }
                switch sqlite3_column_type(handle, column) {
                case SQLITE_INTEGER:
                    digest.appendInteger(sqlite3_column_int64(handle, column))
                case SQLITE_FLOAT:
                    digest.appendReal(sqlite3_column_double(handle, column))
                case SQLITE_TEXT:
                    digest.appendText(UnsafeRawPointer(sqlite3_column_text(handle, column)), count: Int(sqlite3_column_bytes(handle, column)))
                case SQLITE_BLOB:
                    digest.appendBlob(sqlite3_column_blob(handle, column), count: Int(sqlite3_column_bytes(handle, column)))
                default:
                    digest.appendNull()
                }
            }
            digest.endRow()
            if digest.rowCount & 0xFFFF == 0 { progress?(digest.rowCount) }
        }
        return digest.result
    }

    /// The hash of every ordinary column of `table` (not generated or hidden ones: they
    /// follow from the others), each value preceded by its column's name, the columns
    /// in name order: a changed, lost or added row changes it, and so does a renamed column.
    package static func hashAllColumns(_ db: Database, table: String) throws -> Result {
        let names = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0", arguments: [table]).sorted()
        guard !names.isEmpty else { return .empty }
        return try hash(db, table: table, expressions: names.map(\.quotedIdentifier), labels: names)
    }
}
