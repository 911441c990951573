import Foundation
import FuzzSupport
import GRDB

@testable import MigrationKit

/// One libFuzzer input: the text of a CREATE TABLE statement, or anything else.
///
/// Reading it never crashes. When SQLite makes an ordinary table of it, the reader
/// reads the table's `sqlite_master` text without refusing, and nothing it claims
/// (column names and order, types, primary key, generated columns, WITHOUT ROWID,
/// STRICT) is contradicted by `pragma_table_xinfo` or `pragma_table_list`; the text
/// as given, when it reads it at all, agrees too.
@main enum FuzzCreateTableTarget {
    static func main() { FuzzDriver.run(fuzzCreateTable) }
}

/// One in-memory database for the run; each input runs in a savepoint, rolled back.
let database = try! DatabaseQueue()

// libFuzzer's runtime also links against this name.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzCreateTable(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    let direct = try? CreateTableStatement(sql: text)
    // Only CREATE statements reach SQLite: a COMMIT would end the savepoint, an ATTACH write a file.
    guard SQLTokenizer.tokens(text).first?.isKeyword("create") == true else { return 0 }
    try! database.writeWithoutTransaction { db in
        try db.inSavepoint {
            // One statement only (GRDB refuses a second), as sqlite_master holds them.
            guard (try? db.makeStatement(sql: text).execute()) != nil,
                let row = try Row.fetchOne(db, sql: "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"),
                let stored = row["sql"] as String?, !stored.uppercased().hasPrefix("CREATE VIRTUAL")
            else { return .rollback }
            let table: String = row["name"]
            do {
                let wrong = try CreateTableStatement(sql: stored).disagreements(db, table: table)
                precondition(wrong.isEmpty, "misread \(stored.debugDescription): \(wrong)")
            } catch let error as MigrationError {
                preconditionFailure("refused a table SQLite made: \(stored.debugDescription): \(error)")
            }
            if let direct, direct.tableName == table {
                let wrong = try direct.disagreements(db, table: table)
                precondition(wrong.isEmpty, "misread \(text.debugDescription): \(wrong)")
            }
            return .rollback
        }
    }
    return 0
}
