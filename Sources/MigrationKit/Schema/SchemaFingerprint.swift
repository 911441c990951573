import GRDB

/// The shape that identifies a schema version: per table its columns, unique
/// keys and foreign keys, plus the names of its indexes, triggers and views.
/// A database matches a version when it has everything the version has;
/// objects and columns an operator added are tolerated (and kept).
struct SchemaFingerprint: Sendable {
    struct Table: Sendable {
        var columns: [String: String]   // name -> declared type, uppercased
        /// Unique keys of the table's own definition (UNIQUE constraints) and of
        /// CREATE UNIQUE INDEX, each as its key parts (columns, lowercased, or
        /// `<expression>`); the index that carries it, for naming it.
        var uniqueKeys: [[String]: UniqueKey]
        var foreignKeys: Set<String>
    }

    struct UniqueKey: Sendable {
        let index: String
        /// From CREATE UNIQUE INDEX (an operator may add one and keep it) rather than the table's definition.
        let isSeparateIndex: Bool
        let isPartial: Bool
    }

    var tables: [String: Table] = [:]
    var otherObjects: [String: String] = [:]   // name -> type

    static func read(_ db: Database, excludingPrefix prefix: String) throws -> SchemaFingerprint {
        var fingerprint = SchemaFingerprint()
        for object in try SchemaSnapshot.read(db, excludingPrefix: prefix).objects {
            let name = object.name.lowercased()
            guard object.type == "table" else {
                if object.sql != nil { fingerprint.otherObjects[name] = object.type }
                continue
            }
            var table = Table(columns: [:], uniqueKeys: [:], foreignKeys: [])
            for row in try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?)", arguments: [object.name]) {
                table.columns[(row["name"] as String).lowercased()] = (row["type"] as String).uppercased()
            }
            let indexes = try Row.fetchAll(db, sql: "SELECT name, origin, partial FROM pragma_index_list(?) WHERE \"unique\" = 1 AND origin <> 'pk'", arguments: [object.name])
            for index in indexes {
                let name: String = index["name"]
                // An index on an expression has no column name for that part (cid -2).
                let parts = try Row.fetchAll(db, sql: "SELECT cid, name FROM pragma_index_info(?) ORDER BY seqno", arguments: [name])
                    .map { ($0["name"] as String?)?.lowercased() ?? (($0["cid"] as Int) == -1 ? "rowid" : "<expression>") }
                table.uniqueKeys[parts] = UniqueKey(index: name, isSeparateIndex: index["origin"] == "c", isPartial: index["partial"] == 1)
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
            let show = { (key: [String]) in "(\(key.joined(separator: ", ")))" }
            for key in reference.uniqueKeys.keys.sorted(by: { show($0) < show($1) }) where table.uniqueKeys[key] == nil {
                differences.append("\(name) lacks the unique key \(show(key))")
            }
            // A unique index an operator created is theirs, kept like any other added index;
            // a UNIQUE in the table's own definition changes what the table is.
            for (key, unique) in table.uniqueKeys.sorted(by: { show($0.key) < show($1.key) })
            where reference.uniqueKeys[key] == nil && !unique.isSeparateIndex {
                differences.append("\(name) has a UNIQUE constraint on \(show(key)) that version's definition lacks (automatic index \(unique.index))")
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
