import Crypto
import GRDB

/// An order-independent hash of a whole table, for `expected.json`.
///
/// Each row is encoded column by column, columns sorted by name, as: the name
/// (length-prefixed UTF-8), a type tag (0 NULL, 1 integer, 2 real, 3 text,
/// 4 blob) and the value (8 bytes big-endian for numbers, length-prefixed bytes
/// for text and blobs). The row's SHA-256 is split into four 64-bit lanes that
/// are added, modulo 2^64, over all rows; the hash is the 32 bytes in hex.
/// Row order and column order do not matter; a changed, lost or added row, a
/// renamed column or a changed type does. (The same construction as
/// MigrationKit's census, which hashes a migration's declared columns instead
/// of every column by name.)
enum TableContentHash {
    static func hash(_ db: Database, table: String) throws -> (rows: Int, hash: String) {
        let names = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0", arguments: [table])
            .sorted()
        guard !names.isEmpty else { return (0, String(repeating: "0", count: 64)) }
        let select = "SELECT " + names.map(SQLDumper.quoted).joined(separator: ", ") + " FROM " + SQLDumper.quoted(table)
        let encodedNames = names.map { name -> [UInt8] in
            var bytes: [UInt8] = []
            append(UInt64(name.utf8.count), to: &bytes)
            bytes += Array(name.utf8)
            return bytes
        }
        var lanes: [UInt64] = [0, 0, 0, 0]
        var rows = 0
        var buffer: [UInt8] = []
        try RawValue.forEachRow(db, sql: select) { row in
            buffer.removeAll(keepingCapacity: true)
            for (index, value) in row.enumerated() {
                buffer += encodedNames[index]
                switch value {
                case .null: buffer.append(0)
                case .integer(let integer): buffer.append(1); append(UInt64(bitPattern: integer), to: &buffer)
                case .real(let real): buffer.append(2); append(real.bitPattern, to: &buffer)
                case .text(let bytes): buffer.append(3); append(UInt64(bytes.count), to: &buffer); buffer += bytes
                case .blob(let bytes): buffer.append(4); append(UInt64(bytes.count), to: &buffer); buffer += bytes
                }
            }
            let digest = Array(SHA256.hash(data: buffer))
            for lane in 0..<4 {
                var value: UInt64 = 0
                for byte in digest[(lane * 8)..<(lane * 8 + 8)] { value = value << 8 | UInt64(byte) }
                lanes[lane] &+= value
            }
            rows += 1
        }
        let hex = lanes.map { lane -> String in
            let digits = String(lane, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
        return (rows, hex)
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
