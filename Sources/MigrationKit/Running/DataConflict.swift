import Foundation
import GRDB

/// A constraint the rows make a migration's own data steps break: found before anything
/// changes where a query can tell (a unique index of the operator's over a column the
/// migration fills), and otherwise named when the real run meets it, instead of being
/// taken for a bug.
enum DataConflict {
    /// The refusal for SQLite's constraint error `error`, met while applying `script` and
    /// rolled back; nil for any other error. `db` is the database as it was before.
    static func refusal(_ db: Database, _ error: any Error, script: MigrationScript) -> MigrationError? {
        guard let error = error as? DatabaseError, error.resultCode == .SQLITE_CONSTRAINT else { return nil }
        let said = error.message ?? "constraint failed"
        let object = (try? constraintObject(db, message: said)) ?? nil
        let named = object.map { "your \($0.type) \($0.name)" } ?? "a rule of the schema"
        let drop = object.map { " or drop \($0.type == "index" ? "the index (DROP INDEX \($0.name.quotedIdentifier))" : "the constraint") and create it again after migrating" } ?? ""
        return MigrationError(.dataConflict, """
            migration \(script.version) (\(script.name)) was rolled back: with the rows of \(db.configuration.label ?? "the database"), \
            its own data steps break \(named) (\(said)). The database is as it was. Change the rows that clash\(drop); then \
            run the migration again
            """, path: db.configuration.label, version: script.version, object: object?.name, underlying: error)
    }

    /// The index or constraint SQLite's message names: a unique index by its table and columns.
    private static func constraintObject(_ db: Database, message: String) throws -> (type: String, name: String)? {
        // An index on expressions: "UNIQUE constraint failed: index 'name'".
        if message.hasPrefix("UNIQUE constraint failed: index '"), message.hasSuffix("'") {
            return ("index", String(message.dropFirst("UNIQUE constraint failed: index '".count).dropLast()))
        }
        if let columns = message.split(separator: ":", maxSplits: 1).last, message.hasPrefix("UNIQUE constraint failed") {
            let pairs = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let table = pairs.first?.split(separator: ".").first.map(String.init) else { return nil }
            let names = pairs.compactMap { $0.split(separator: ".", maxSplits: 1).last.map(String.init) }
            for index in try Row.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\"", arguments: [table]) {
                let name: String = index["name"]
                let indexColumns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [name])
                if indexColumns.map({ $0.lowercased() }) == names.map({ $0.lowercased() }) {
                    return (name.hasPrefix("sqlite_autoindex_") ? "UNIQUE constraint on" : "index", name.hasPrefix("sqlite_autoindex_") ? table : name)
                }
            }
            return nil
        }
        if message.hasPrefix("CHECK constraint failed: "), let name = message.split(separator: ":", maxSplits: 1).last {
            return ("CHECK constraint", name.trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

extension Migrator {
    /// A unique index of the operator's over a column a migration fills (its `expect`
    /// directives say with what): rows that differ today and would be equal after the
    /// fill make the migration fail half way. Counted here, per index, on today's rows.
    func checkUniqueIndexesTheDataStepsWouldBreak(_ db: Database, scripts: [MigrationScript], parameters: MigrationParameters) throws {
        for script in scripts {
            let filled = Dictionary(grouping: script.definition.expectations, by: { $0.table.lowercased() })
            let ours = try referenceDatabase(version: script.version - 1).read { try readSchema($0).namedObjects }
            for (table, expectations) in filled.sorted(by: { $0.key < $1.key }) {
                guard try db.tableExists(table) else { continue }
                let indexes = try Row.fetchAll(db, sql: "SELECT name, partial FROM pragma_index_list(?) WHERE \"unique\" AND origin = 'c'", arguments: [table])
                for index in indexes {
                    let name: String = index["name"]
                    guard ours[name.lowercased()] == nil else { continue }   // the version's own: the migration's to keep
                    let columns = try Row.fetchAll(db, sql: "SELECT cid, name, coll FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno", arguments: [name])
                    guard !columns.contains(where: { ($0["cid"] as Int) < 0 }) else { continue }   // an expression: left to the run
                    let touched = columns.filter { column in expectations.contains { $0.column.lowercased() == (column["name"] as String).lowercased() } }
                    guard !touched.isEmpty else { continue }
                    // The rows as the fill leaves them: each filled column's fill under the column's
                    // own name, so that a partial index's condition (`WHERE network IS NOT NULL`)
                    // and the grouping both see the filled values, as the index will.
                    let filledRows = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?) ORDER BY cid", arguments: [table]).map { column in
                        let fill = expectations.first { $0.column.lowercased() == column.lowercased() }
                        return "(\(fill?.expression ?? column.quotedIdentifier)) AS \(column.quotedIdentifier)"
                    }
                    let expressions = columns.map { column -> String in
                        "\((column["name"] as String).quotedIdentifier) COLLATE \((column["coll"] as String? ?? "BINARY").quotedIdentifier)"
                    }
                    var conditions = expressions.map { "\($0) IS NOT NULL" }
                    if (index["partial"] as Bool? ?? false), let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [name]),
                       let condition = Self.whereClause(of: sql) {
                        conditions.append("(\(condition))")
                    }
                    let sql = """
                        SELECT count(*) FROM (SELECT 1 FROM (SELECT \(filledRows.joined(separator: ", ")) FROM \(table.quotedIdentifier)) \
                        WHERE \(conditions.joined(separator: " AND ")) GROUP BY \(expressions.joined(separator: ", ")) HAVING count(*) > 1)
                        """
                    let clashes: Int
                    do {
                        clashes = try db.count(sql, parameters: parameters)
                    } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                        continue   // a column an earlier pending migration adds
                    }
                    guard clashes > 0 else { continue }
                    let filledColumns = touched.map { $0["name"] as String }.joined(separator: ", ")
                    throw MigrationError(.rowsNotCarried, """
                        migration \(script.version) (\(script.name)) fills \(table).\(filledColumns), and then \(clashes) group(s) of \
                        rows of \(table) would have the same \(columns.map { $0["name"] as String }.joined(separator: ", ")), which your \
                        unique index \(name) forbids: the migration would fail half way. The migrator does not choose which row \
                        to change: change the rows that would clash, or drop the index (DROP INDEX \(name.quotedIdentifier)) and \
                        create it again after migrating; then run the migration again. Nothing was changed
                        """, version: script.version, object: name)
                }
            }
        }
    }

    /// The condition of a partial index (`… WHERE condition`), from SQLite's own text.
    static func whereClause(of createIndex: String) -> String? {
        var depth = 0
        for token in SQLTokenizer.tokens(createIndex) {
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            if depth == 0, token.isKeyword("where") {
                return createIndex.utf8Text(token.range.upperBound..<createIndex.utf8.count)
            }
        }
        return nil
    }
}
