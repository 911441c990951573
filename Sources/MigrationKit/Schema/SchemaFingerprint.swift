import GRDB

/// The shape that identifies a schema version: per table its columns, unique
/// keys and foreign keys, plus the names of its indexes, triggers and views.
/// A database matches a version when it has everything the version has;
/// objects and columns an operator added are tolerated (and kept).
struct SchemaFingerprint: Sendable {
    struct Table: Sendable {
        var columns: [String: String]   // name -> declared type, uppercased
        var uniqueKeys: Set<[String]>
        var foreignKeys: Set<String>
    }

    var tables: [String: Table] = [:]
    var otherObjects: [String: String] = [:]   // name -> type

    static func read(_ db: Database) throws -> SchemaFingerprint {
        var fingerprint = SchemaFingerprint()
        for object in try SchemaSnapshot.read(db).objects {
            let name = object.name.lowercased()
            guard object.type == "table" else {
                if object.sql != nil { fingerprint.otherObjects[name] = object.type }
                continue
            }
            var table = Table(columns: [:], uniqueKeys: [], foreignKeys: [])
            for row in try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?)", arguments: [object.name]) {
                table.columns[(row["name"] as String).lowercased()] = (row["type"] as String).uppercased()
            }
            for index in try Row.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin <> 'pk'", arguments: [object.name]) {
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index["name"] as String])
                table.uniqueKeys.insert(columns.map { $0.lowercased() })
            }
            for row in try Row.fetchAll(db, sql: "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?)", arguments: [object.name]) {
                table.foreignKeys.insert("\((row["from"] as String).lowercased())->\((row["table"] as String).lowercased()).\((row["to"] as String? ?? "").lowercased())")
            }
            fingerprint.tables[name] = table
        }
        return fingerprint
    }

    /// What `actual` lacks or has differently compared with this reference, in words.
    func differences(in actual: SchemaFingerprint) -> [String] {
        var differences: [String] = []
        for (name, reference) in tables.sorted(by: { $0.key < $1.key }) {
            guard let table = actual.tables[name] else {
                differences.append("table \(name) is missing")
                continue
            }
            for (column, type) in reference.columns.sorted(by: { $0.key < $1.key }) {
                if let actualType = table.columns[column] {
                    if actualType != type { differences.append("\(name).\(column) is \(actualType), expected \(type)") }
                } else {
                    differences.append("\(name).\(column) is missing")
                }
            }
            if table.uniqueKeys != reference.uniqueKeys {
                let show = { (keys: Set<[String]>) in keys.map { "(\($0.joined(separator: ", ")))" }.sorted().joined(separator: " ") }
                differences.append("\(name) has unique keys \(show(table.uniqueKeys)), expected \(show(reference.uniqueKeys))")
            }
            for key in reference.foreignKeys.subtracting(table.foreignKeys).sorted() {
                differences.append("\(name) lacks foreign key \(key)")
            }
        }
        for (name, type) in otherObjects.sorted(by: { $0.key < $1.key }) where actual.otherObjects[name] != type {
            differences.append("\(type) \(name) is missing")
        }
        return differences
    }
}
