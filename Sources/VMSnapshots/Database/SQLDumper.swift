import Foundation
import GRDB
import GRDBSQLite
import SQLiteFiles

/// Writes a database as a text SQL dump in the layout of `sqlite3 .dump`:
/// tables with their rows, then `sqlite_sequence` and `sqlite_stat1`, then
/// indexes, triggers and views, all inside one transaction.
///
/// One row per line, so a fixture reads well in a diff. Values round-trip
/// exactly: control characters are written as `char(N)`, text that is not
/// valid UTF-8 as `CAST(X'…' AS TEXT)`, reals in their shortest exact form.
struct SQLDumper {
    /// Replaces a value as it is written (anonymization); nil writes values as they are.
    var transform: ((_ table: String, _ column: String, _ value: RawValue) -> RawValue)?

    /// The dump of `db`, with `header` lines written first as `--` comments.
    func dump(_ db: Database, header: [String] = []) throws -> String {
        var out = header.map { "-- \($0)\n" }.joined()
        out += "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
        let objects = try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
        var later: [String] = []
        var hasSequence = false, hasStatistics = false
        for object in objects {
            let type: String = object["type"], name: String = object["name"]
            guard let sql: String = object["sql"] else { continue }   // automatic indexes
            if type != "table" { later.append(sql + ";\n"); continue }
            switch name.lowercased() {
            case "sqlite_sequence": hasSequence = true; continue
            case "sqlite_stat1": hasStatistics = true; continue
            case let other where other.hasPrefix("sqlite_"): continue   // stat4 samples hold key values; SQLite remakes them
            default: break
            }
            out += sql + ";\n"
            try appendRows(db, table: name, to: &out)
        }
        if hasSequence {
            out += "DELETE FROM sqlite_sequence;\n"
            try appendRows(db, table: "sqlite_sequence", to: &out, transformed: false)
        }
        if hasStatistics {
            // As sqlite3 writes it: ANALYZE on the schema table only creates sqlite_stat1.
            out += "ANALYZE sqlite_master;\n"
            try appendRows(db, table: "sqlite_stat1", to: &out, transformed: false)
        }
        out += later.joined()
        out += "COMMIT;\n"
        return out
    }

    private func appendRows(_ db: Database, table: String, to out: inout String, transformed: Bool = true) throws {
        // Generated columns cannot be inserted: name the stored ones when there are any.
        let columns = try Row.fetchAll(db, sql: "SELECT name, hidden FROM pragma_table_xinfo(?)", arguments: [table])
        let stored = columns.filter { ($0["hidden"] as Int) == 0 }.map { $0["name"] as String }
        guard !stored.isEmpty else { return }
        let target = Self.identifier(table) + (stored.count == columns.count ? "" : "(" + stored.map(Self.identifier).joined(separator: ",") + ")")
        let select = "SELECT " + stored.map(\.quotedIdentifier).joined(separator: ", ") + " FROM " + table.quotedIdentifier
        let transform = transformed ? self.transform : nil
        try RawValue.forEachRow(db, sql: select) { row in
            out += "INSERT INTO \(target) VALUES("
            for (index, value) in row.enumerated() {
                if index > 0 { out += "," }
                out += Self.literal(transform?(table, stored[index], value) ?? value)
            }
            out += ");\n"
        }
    }

    /// A SQL literal that reads back as exactly `value`.
    static func literal(_ value: RawValue) -> String {
        switch value {
        case .null:
            return "NULL"
        case .integer(let integer):
            return String(integer)
        case .real(let real):
            if real.isNaN { return "NULL" }   // SQLite stores NaN as NULL
            if real.isInfinite { return real < 0 ? "-1e999" : "1e999" }
            return "\(real)"                  // shortest form that reads back bit for bit
        case .blob(let bytes):
            return "X'" + hex(bytes) + "'"
        case .text(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return "CAST(X'" + hex(bytes) + "' AS TEXT)"
            }
            return textLiteral(text)
        }
    }

    /// `'…'` with quotes doubled; control characters as `char(N)` so each row stays on one line.
    static func textLiteral(_ text: String) -> String {
        var parts: [String] = []
        var current = ""
        var inLiteral = false
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                if inLiteral { parts.append("'" + current + "'"); current = ""; inLiteral = false }
                parts.append("char(\(scalar.value))")
            } else {
                inLiteral = true
                if scalar == "'" { current += "''" } else { current.unicodeScalars.append(scalar) }
            }
        }
        if inLiteral || parts.isEmpty { parts.append("'" + current + "'") }
        return parts.joined(separator: "||")
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A name as `sqlite3 .dump` writes it: bare when it can be, quoted otherwise.
    static func identifier(_ name: String) -> String {
        let plain = !name.isEmpty && !(name.first?.isNumber ?? true)
            && name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil)) || $0 == "_" }
        let keyword = name.withCString { sqlite3_keyword_check($0, Int32(strlen($0))) } != 0
        return plain && !keyword ? name : name.quotedIdentifier
    }
}
