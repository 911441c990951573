import Crypto
import Foundation
import GRDB
import GRDBSQLite

/// An order-independent content hash of a table: each row's values are hashed
/// with SHA-256 (type-tagged, length-prefixed) and the digests added lane-wise
/// modulo 2^64, so two tables holding the same rows in any order hash equal,
/// and any changed, lost or added row changes the sum.
enum ContentHasher {
    struct Result {
        var rows: Int
        var hash: String
    }

    /// Hashes `SELECT expressions FROM table`, streaming: memory stays flat in the row count.
    static func hash(_ db: Database, table: String, expressions: [String], parameters: MigrationParameters,
                     progress: ((Int) -> Void)? = nil) throws -> Result {
        let selectList = expressions.isEmpty ? "NULL" : expressions.joined(separator: ", ")
        let statement = try db.makeStatement(sql: "SELECT \(selectList) FROM \(table.quotedIdentifier)")
        try statement.bind(parameters)
        let handle = statement.sqliteStatement
        let columnCount = sqlite3_column_count(handle)
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var rows = 0
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)

        func appendInteger(_ value: UInt64) {
            withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
        }

        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
            }
            buffer.removeAll(keepingCapacity: true)
            for column in 0..<columnCount {
                switch sqlite3_column_type(handle, column) {
                case SQLITE_INTEGER:
                    buffer.append(1)
                    appendInteger(UInt64(bitPattern: sqlite3_column_int64(handle, column)))
                case SQLITE_FLOAT:
                    buffer.append(2)
                    appendInteger(sqlite3_column_double(handle, column).bitPattern)
                case SQLITE_TEXT:
                    let bytes = sqlite3_column_text(handle, column)
                    let length = Int(sqlite3_column_bytes(handle, column))
                    buffer.append(3)
                    appendInteger(UInt64(length))
                    if let bytes { buffer.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length)) }
                case SQLITE_BLOB:
                    let bytes = sqlite3_column_blob(handle, column)
                    let length = Int(sqlite3_column_bytes(handle, column))
                    buffer.append(4)
                    appendInteger(UInt64(length))
                    if let bytes {
                        buffer.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: length))
                    }
                default:
                    buffer.append(0)
                }
            }
            let digest = buffer.withUnsafeBytes { SHA256.hash(data: $0) }
            digest.withUnsafeBytes { raw in
                lanes.0 &+= raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                lanes.1 &+= raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                lanes.2 &+= raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                lanes.3 &+= raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            }
            rows += 1
            if rows & 0xFFFF == 0 { progress?(rows) }
        }
        let hash = [lanes.0, lanes.1, lanes.2, lanes.3]
            .map { String(format: "%016llx", $0.bigEndian) }.joined()
        return Result(rows: rows, hash: hash)
    }
}
