import GRDB

/// SQLite is the authority on what a table's definition says: what the reader takes
/// from `sqlite_master.sql` is checked against what SQLite built from the same text
/// (`pragma_table_xinfo`, `pragma_table_list`) before anything is rebuilt from it.
extension CreateTableStatement {
    /// Table `table`'s definition, read and checked against SQLite.
    ///
    /// - Throws: `MigrationError` `.unreadableSchema` naming the table when the reader
    ///   cannot read it, or reads it otherwise than SQLite does (column names, order,
    ///   types, primary key, generated columns, WITHOUT ROWID, STRICT).
    static func read(_ db: Database, table: String) throws -> CreateTableStatement {
        guard
            let sql = try String.fetchOne(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                arguments: [table])
        else {
            throw MigrationError(.unreadableSchema, "table \(table) does not exist", object: table)
        }
        let statement: CreateTableStatement
        do {
            statement = try CreateTableStatement(sql: sql)
        } catch let error as MigrationError {
            throw MigrationError(.unreadableSchema, "table \(table): the migrator \(error.message), so it cannot rebuild it. Nothing was changed", object: table)
        }
        let disagreements = try statement.disagreements(db, table: table)
        guard disagreements.isEmpty else {
            throw MigrationError(
                .unreadableSchema,
                """
                the migrator reads the definition of table \(table) otherwise than SQLite does (\(disagreements.prefix(3).joined(separator: "; "))), \
                so it will not rebuild that table. Nothing was changed. This is the migrator's limit, not a fault in the database: \
                report it with the table's CREATE statement (SELECT sql FROM sqlite_master WHERE name = '\(table)')
                """)
        }
        return statement
    }

    /// Each claim of this reading that SQLite's own description of `table` contradicts, in words.
    func disagreements(_ db: Database, table: String) throws -> [String] {
        let rows = try Row.fetchAll(db, sql: "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", arguments: [table])
        let names = rows.map { $0["name"] as String }
        guard names == columnNames else {
            return ["it finds the columns \(columnNames.joined(separator: ", ")) where SQLite has \(names.joined(separator: ", "))"]
        }
        var found: [String] = []
        for (column, row) in zip(columns, rows) {
            let type: String = row["type"]
            if column.declaredType != type {
                found.append("column \(column.name) has the type '\(column.declaredType)', SQLite's is '\(type)'")
            }
            let pk: Int = row["pk"]
            if column.primaryKeyPosition != pk {
                found.append("column \(column.name) is at \(column.primaryKeyPosition) in the primary key, SQLite has \(pk)")
            }
            let hidden: Int = row["hidden"]
            let generated: Column.Generated? = hidden == 2 ? .virtual : hidden == 3 ? .stored : nil
            if column.generated != generated {
                found.append(
                    "column \(column.name) is \(column.generated.map { "generated \($0.rawValue)" } ?? "not generated"), SQLite's is \(generated.map { "generated \($0.rawValue)" } ?? "not generated")"
                )
            }
        }
        if let list = try Row.fetchOne(
            db, sql: "SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ? COLLATE NOCASE", arguments: [table])
        {
            if isWithoutRowid != ((list["wr"] as Int) == 1) {
                found.append(isWithoutRowid ? "it reads WITHOUT ROWID, SQLite has a rowid" : "SQLite has it WITHOUT ROWID")
            }
            if isStrict != ((list["strict"] as Int) == 1) {
                found.append(isStrict ? "it reads STRICT, SQLite does not" : "SQLite has it STRICT")
            }
        }
        return found
    }
}
