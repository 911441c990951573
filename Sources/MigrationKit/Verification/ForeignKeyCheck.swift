import GRDB

/// `PRAGMA foreign_key_check`, done as one anti-join per constraint.
///
/// The pragma probes the parent once per child row in the child's rowid order:
/// random lookups, about 3 s per 2 million events. The anti-join lets SQLite
/// scan the child's index on the key (sorted) and probe the parent's unique
/// index in the same order, which the page cache serves sequentially.
enum ForeignKeyCheck {
    struct Result {
        var violations = 0
        /// "child row N -> parent", at most 20.
        var samples: [String] = []
        /// The child tables with violations, in the order checked.
        var tables: [String] = []
        /// Constraints SQLite could not check: the parent key is not unique (a "foreign key mismatch").
        var mismatches: [String] = []
    }

    static func run(_ db: Database, tables: [String], log: ((String) -> Void)?) throws -> Result {
        var result = Result()
        for child in tables {
            let rows = try Row.fetchAll(db, sql: "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?) ORDER BY id, seq", arguments: [child])
            let constraints = Dictionary(grouping: rows, by: { $0["id"] as Int })
            for (_, columns) in constraints.sorted(by: { $0.key < $1.key }) {
                let parent: String = columns[0]["table"]
                let from = columns.map { $0["from"] as String }
                guard try db.tableExists(parent) else {
                    result.mismatches.append("\(child) refers to \(parent), which does not exist")
                    continue
                }
                var to = columns.compactMap { $0["to"] as String? }
                if to.count != from.count { to = try primaryKey(db, parent) }
                let isUnique = try isUniqueKey(db, parent, to)
                if to.isEmpty || !isUnique {
                    // Both sides' columns named: for a self-referencing table the child's column is the one to fix.
                    result.mismatches.append("foreign key mismatch - \"\(child)\"(\(from.joined(separator: ", "))) referencing \"\(parent)\"(\(to.joined(separator: ", ")))")
                    continue
                }
                let present = from.map { "c.\($0.quotedIdentifier) IS NOT NULL" }.joined(separator: " AND ")
                let match = zip(to, from).map { "p.\($0.quotedIdentifier) = c.\($1.quotedIdentifier)" }.joined(separator: " AND ")
                let missing = "FROM \(child.quotedIdentifier) AS c WHERE \(present) AND NOT EXISTS (SELECT 1 FROM \(parent.quotedIdentifier) AS p WHERE \(match))"
                log?("SELECT count(*) \(missing)")
                let count = try Int.fetchOne(db, sql: "SELECT count(*) \(missing)") ?? 0
                guard count > 0 else { continue }
                result.violations += count
                if result.tables.last != child { result.tables.append(child) }
                // A WITHOUT ROWID child is named by its primary key: it has no rowid to show.
                let hasRowid = try Bool.fetchOne(db, sql: "SELECT wr = 0 FROM pragma_table_list WHERE name = ? AND schema = 'main'", arguments: [child]) ?? true
                let key = hasRowid ? "c.rowid" : try primaryKey(db, child).map { "quote(c.\($0.quotedIdentifier))" }.joined(separator: " || ', ' || ")
                let rows = try String.fetchAll(db, sql: "SELECT CAST(\(key) AS TEXT) \(missing) LIMIT 20")
                result.samples += rows.map { "\(child) row \(hasRowid ? $0 : "(\($0))") -> \(parent)" }
            }
        }
        result.samples = Array(result.samples.prefix(20))
        return result
    }

    /// The parent's primary key columns; ["rowid"] for a rowid table without a declared one.
    private static func primaryKey(_ db: Database, _ table: String) throws -> [String] {
        let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", arguments: [table])
        return columns.isEmpty ? ["rowid"] : columns
    }

    /// Whether `columns` are the table's rowid, primary key, or a unique index's columns.
    private static func isUniqueKey(_ db: Database, _ table: String, _ columns: [String]) throws -> Bool {
        let wanted = Set(columns.map { $0.lowercased() })
        if wanted == ["rowid"] { return true }
        if Set(try primaryKey(db, table).map { $0.lowercased() }) == wanted { return true }
        for index in try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1 AND partial = 0", arguments: [table]) {
            // An expression part has no name: such an index is never a foreign key's parent key.
            let indexed = try String?.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?)", arguments: [index])
            if indexed.allSatisfy({ $0 != nil }), Set(indexed.compactMap { $0?.lowercased() }) == wanted { return true }
        }
        return false
    }
}
