import Crypto
import Foundation
import GRDB
import GRDBSQLite

/// An order-independent content hash of a table: each row's values are hashed
/// with SHA-256 (type-tagged, length-prefixed) and the digests added lane-wise
/// modulo 2^64, so two tables holding the same rows in any order hash equal,
/// and any changed, lost or added row changes the sum.
///
/// The one content hash in vmdb's libraries: a migration's census (its declared
/// columns, before and after) and a snapshot's expected content (every column, by
/// name). The tests' `ContentFingerprint` is kept apart on purpose, as an oracle.
package enum ContentHasher {
    /// The four 64-bit lane sums of the row digests. Sums, so the hash of a table is
    /// the hash of any split of its rows added up, and a part can be taken away again
    /// (the online path verifies most rows on a snapshot and the changed ones under the lock).
    package struct Lanes: Hashable, Sendable {
        package var values: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        package static func == (a: Lanes, b: Lanes) -> Bool { a.hex == b.hex }
        package func hash(into hasher: inout Hasher) { hasher.combine(hex) }

        package static func + (a: Lanes, b: Lanes) -> Lanes {
            Lanes(values: (a.values.0 &+ b.values.0, a.values.1 &+ b.values.1, a.values.2 &+ b.values.2, a.values.3 &+ b.values.3))
        }

        package static func - (a: Lanes, b: Lanes) -> Lanes {
            Lanes(values: (a.values.0 &- b.values.0, a.values.1 &- b.values.1, a.values.2 &- b.values.2, a.values.3 &- b.values.3))
        }

        package var hex: String {
            [values.0, values.1, values.2, values.3].map { String(format: "%016llx", $0.bigEndian) }.joined()
        }
    }

    package struct Result: Sendable, Hashable {
        package var rows: Int
        package var lanes: Lanes
        package var hash: String { lanes.hex }

        package init(rows: Int, lanes: Lanes) { self.rows = rows; self.lanes = lanes }

        package static let empty = Result(rows: 0, lanes: Lanes())
        package static func + (a: Result, b: Result) -> Result { Result(rows: a.rows + b.rows, lanes: a.lanes + b.lanes) }
        package static func - (a: Result, b: Result) -> Result { Result(rows: a.rows - b.rows, lanes: a.lanes - b.lanes) }
    }

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
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var rows = 0
        // One reusable byte buffer per scan: a row is encoded into it and
        // hashed in one call (no per-value allocation on a million rows).
        var buffer = RowBuffer(capacity: 4096)
        defer { buffer.deallocate() }

        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage, sql: statement.sql)
            }
            buffer.count = 0
            for column in 0..<columnCount {
                if let labels {
                    labels[Int(column)].withUnsafeBufferPointer { buffer.append(tag: 3, bytes: $0.baseAddress, count: $0.count) }
                }
                switch sqlite3_column_type(handle, column) {
                case SQLITE_INTEGER:
                    buffer.append(tag: 1, integer: UInt64(bitPattern: sqlite3_column_int64(handle, column)))
                case SQLITE_FLOAT:
                    buffer.append(tag: 2, integer: sqlite3_column_double(handle, column).bitPattern)
                case SQLITE_TEXT:
                    let bytes = sqlite3_column_text(handle, column)
                    let length = Int(sqlite3_column_bytes(handle, column))
                    buffer.append(tag: 3, bytes: UnsafeRawPointer(bytes), count: length)
                case SQLITE_BLOB:
                    let bytes = sqlite3_column_blob(handle, column)
                    let length = Int(sqlite3_column_bytes(handle, column))
                    buffer.append(tag: 4, bytes: bytes, count: length)
                default:
                    buffer.append(tag: 0)
                }
            }
            let digest = SHA256.hash(data: buffer.bytes)
            digest.withUnsafeBytes { raw in
                lanes.0 &+= raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                lanes.1 &+= raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                lanes.2 &+= raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
                lanes.3 &+= raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            }
            rows += 1
            if rows & 0xFFFF == 0 { progress?(rows) }
        }
        return Result(rows: rows, lanes: Lanes(values: lanes))
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

/// A growable byte buffer for encoding one row: tag byte, then a big-endian
/// 8-byte integer or length, then the bytes. The same encoding as before any
/// optimisation, so recorded hashes stay comparable.
private struct RowBuffer {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    func deallocate() { storage.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    private mutating func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let grown = max(capacity * 2, count + extra)
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        bigger.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = bigger
        capacity = grown
    }

    mutating func append(tag: UInt8) {
        reserve(1)
        storage.storeBytes(of: tag, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    mutating func append(tag: UInt8, integer: UInt64) {
        reserve(9)
        storage.storeBytes(of: tag, toByteOffset: count, as: UInt8.self)
        storage.storeBytes(of: integer.bigEndian, toByteOffset: count + 1, as: UInt64.self)
        count += 9
    }

    mutating func append(tag: UInt8, bytes: UnsafeRawPointer?, count length: Int) {
        append(tag: tag, integer: UInt64(length))
        guard let bytes, length > 0 else { return }
        reserve(length)
        (storage + count).copyMemory(from: bytes, byteCount: length)
        count += length
    }
}
