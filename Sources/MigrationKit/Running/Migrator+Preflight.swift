import GRDB

/// Checks made before anything changes, on the database as it is: a migration
/// that would fail half way, or silently lose or replace something, is refused
/// up front with the object named (exit 65), and the file stays byte for byte.
extension Migrator {
    /// Every check, for the pending `scripts` (in order).
    ///
    /// - Throws: `MigrationError` `.unusableInput` naming the object and what to do.
    func preflight(_ db: Database, scripts: [MigrationScript], parameters: MigrationParameters) throws {
        try checkNameCollisions(db, scripts: scripts)
        try checkRecreatedTablesAreReadable(db, scripts: scripts)
        try checkTableConstraintsTheRebuildWouldDrop(db, scripts: scripts)
        // A later migration's copy is measured on today's rows too, when SQLite can
        // read its FROM clause here (v3's join reads only vm_id, which v1 has): the
        // data steps before it fill columns, they add or remove no rows. The census
        // still checks every migration's counts before it commits.
        for script in scripts {
            try checkRowsTheCopyWouldDrop(db, script: script, parameters: parameters)
        }
        try checkUniqueIndexesTheDataStepsWouldBreak(db, scripts: scripts, parameters: parameters)
        try checkExistingForeignKeyViolations(db, scripts: scripts)
    }

    /// Every table a migration rebuilds is read as SQLite reads it, or refused by name
    /// now: the rebuild carries its columns over from that reading (a name cut short, a
    /// generated column taken for a stored one), so a misreading would fail half way
    /// or lose a column.
    func checkRecreatedTablesAreReadable(_ db: Database, scripts: [MigrationScript]) throws {
        var seen: Set<String> = []
        for recreation in scripts.flatMap(\.definition.recreations) where seen.insert(recreation.table.asciiLowercased).inserted {
            guard try db.tableExists(recreation.table) else { continue }
            _ = try CreateTableStatement.read(db, table: recreation.table)
        }
    }

    /// A column definition the operator changed, on a column the migration redefines, or
    /// a table constraint of the operator's (a `CHECK (…)`, `FOREIGN KEY …` written in a
    /// table they built by hand) on a table a migration rebuilds. The rebuild takes the
    /// table's constraints from the migration's definition and carries over columns
    /// only, so it would drop that constraint without a word; refuse and name it.
    /// Constraints the database's own version defines are the migration's to change.
    func checkTableConstraintsTheRebuildWouldDrop(_ db: Database, scripts: [MigrationScript]) throws {
        guard let first = scripts.first else { return }
        let recreations = scripts.flatMap { script in script.definition.recreations.map { (script, $0) } }
        guard !recreations.isEmpty else { return }
        var reference: DatabaseQueue?
        var seen: Set<String> = []
        for (script, recreation) in recreations where seen.insert(recreation.table.asciiLowercased).inserted {
            let table = recreation.table
            guard try db.tableExists(table) else { continue }
            let live = try CreateTableStatement.read(db, table: table)
            let versionSchema = try reference ?? referenceDatabase(version: first.version - 1)
            reference = versionSchema
            let defined = try versionSchema.read { db in try db.tableExists(table) ? try CreateTableStatement.read(db, table: table) : nil }
            let rebuilt = try CreateTableStatement(sql: recreation.createSQL)
            // A column the version defines and the migration redefines takes the migration's
            // definition: a constraint the operator gave it (a CHECK, a COLLATE, a DEFAULT) would go.
            for column in live.columns {
                guard let original = defined?.column(named: column.name), rebuilt.column(named: column.name) != nil,
                      SchemaObject.normalized(column.definition) != SchemaObject.normalized(original.definition) else { continue }
                throw MigrationError(.schemaConflict, """
                    table \(table) defines its column \(column.name) as `\(column.definition)`, where version \(first.version - 1) \
                    defines `\(original.definition)`, and migration \(script.version) (\(script.name)) rebuilds \(table) \
                    with its own definition of that column: your change would be lost. The migrator never drops one silently: \
                    rebuild \(table) with the version's definition of \(column.name), migrate, then apply your change again. \
                    Nothing was changed
                    """, version: script.version, object: table)
            }
            let theirs = live.tableConstraints
            guard !theirs.isEmpty else { continue }
            // The version's own constraints, and those the new definition has anyway.
            let kept = (defined?.tableConstraints ?? []) + rebuilt.tableConstraints
            let normalizedKept = Set(kept.map(SchemaObject.normalized))
            guard let added = theirs.first(where: { !normalizedKept.contains(SchemaObject.normalized($0)) }) else { continue }
            throw MigrationError(.schemaConflict, """
                table \(table) has a table constraint that version \(first.version - 1) does not define, `\(added)`, and \
                migration \(script.version) (\(script.name)) rebuilds \(table) from its own definition, carrying over the \
                columns you added but not table constraints: yours would be lost. The migrator never drops one silently: rebuild \
                \(table) without it (or with the rule as a column constraint of a column you added), migrate, then put it \
                back. Nothing was changed
                """, version: script.version, object: table)
        }
    }

    /// Rows of other tables that already refer to a missing row of a table a
    /// migration recreates: verification would find them after the rebuild and
    /// blame the migration. They were there before; say so now, by table.
    func checkExistingForeignKeyViolations(_ db: Database, scripts: [MigrationScript]) throws {
        let recreated = Set(scripts.flatMap { $0.definition.recreations.map { $0.table.lowercased() } })
        guard !recreated.isEmpty else { return }
        let children = try readSchema(db).tableNames.filter { table in
            guard !recreated.contains(table.lowercased()) else { return false }   // the copy check covers those
            let parents = try String.fetchAll(db, sql: "SELECT \"table\" FROM pragma_foreign_key_list(?)", arguments: [table])
            return parents.contains { recreated.contains($0.lowercased()) }
        }
        guard !children.isEmpty else { return }
        let found = try ForeignKeyCheck.run(db, tables: children, log: nil)
        guard found.violations > 0 else { return }
        throw MigrationError(.rowsNotCarried, """
            \(found.violations) row(s) already refer to rows that do not exist (first: \(found.samples.prefix(3).joined(separator: "; "))), \
            in tables that refer to a table the migration rebuilds. The migrator does not carry damage into a new version \
            silently: list them with PRAGMA foreign_key_check, then delete them or restore what they refer to, and \
            migrate again. Nothing was changed
            """, object: found.tables.first)
    }

    /// Names a migration introduces (its new tables, indexes, triggers and views,
    /// and the temporary tables of its recreations) that the database already uses.
    ///
    /// SQLite names are global across tables, indexes, triggers and views, and an
    /// operator may have taken one first. Creating it would fail half way (exit 1
    /// before this check) or, for an index the recreation captures, replace the
    /// operator's object without a word. Never replace: refuse and name it.
    func checkNameCollisions(_ db: Database, scripts: [MigrationScript]) throws {
        guard let first = scripts.first else { return }
        let existing = try Row.fetchAll(db, sql: "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        var owners: [String: (type: String, table: String)] = [:]
        // This tool's own objects (an interrupted online run's new tables and their indexes) are not in the way.
        let prefix = configuration.bookkeepingPrefix
        for row in existing where !(row["name"] as String).hasPrefix(prefix) && !(row["tbl_name"] as String).hasPrefix(prefix) {
            owners[(row["name"] as String).lowercased()] = (row["type"], row["tbl_name"])
        }
        var previous = try names(atVersion: first.version - 1)
        for script in scripts {
            let current = try names(atVersion: script.version)
            var introduced = current.filter { previous[$0.key] == nil && $0.key != configuration.historyTable.lowercased() }
            for recreation in script.definition.recreations {
                let temporary = TableRecreation.temporaryName(recreation.table, bookkeepingPrefix: configuration.bookkeepingPrefix)
                introduced[temporary.lowercased()] = (temporary, "table")
            }
            for (key, ours) in introduced.sorted(by: { $0.key < $1.key }) {
                guard let theirs = owners[key] else { continue }
                let on = theirs.type == "table" || theirs.type == "view" ? "" : " (on \(theirs.table))"
                throw MigrationError(.schemaConflict, """
                    migration \(script.version) (\(script.name)) creates \(ours.type) \(ours.name), but this database already has \
                    a \(theirs.type) of that name\(on). The migrator never replaces an object of yours: rename yours first \
                    (\(Self.renameAdvice(type: theirs.type, name: ours.name))), then migrate again. Nothing was changed
                    """, version: script.version, object: ours.name)
            }
            previous = current
        }
    }

    /// The names a fresh database at `version` holds, lowercased, with their spelling and type.
    private func names(atVersion version: Int) throws -> [String: (name: String, type: String)] {
        guard version > 0 else { return [:] }
        let rows = try referenceDatabase(version: version).read { db in
            try Row.fetchAll(db, sql: "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
        }
        var names: [String: (name: String, type: String)] = [:]
        for row in rows { names[(row["name"] as String).lowercased()] = (row["name"], row["type"]) }
        return names
    }

    private static func renameAdvice(type: String, name: String) -> String {
        switch type {
        case "table": "ALTER TABLE \(name.quotedIdentifier) RENAME TO \("\(name)_own".quotedIdentifier)"
        case "index": "create it again under another name, then DROP INDEX \(name.quotedIdentifier)"
        default: "create it again under another name, then DROP \(type.uppercased()) \(name.quotedIdentifier)"
        }
    }

    /// Rows a recreation's copy would leave behind or multiply: the copy reads the
    /// old table through its FROM clause (for v3, events joined to their VM), so a
    /// child row whose parent is gone (a deployer that ran with foreign keys off)
    /// would be dropped, and verification could only report the counts. Found
    /// here, named by table and count, before anything starts.
    func checkRowsTheCopyWouldDrop(_ db: Database, script: MigrationScript, parameters: MigrationParameters) throws {
        for recreation in script.definition.recreations {
            guard let copySQL = recreation.copySQL, let from = Self.fromClause(of: copySQL),
                  try db.tableExists(recreation.table) else { continue }
            let rows = try db.count("SELECT count(*) FROM \(recreation.table.quotedIdentifier)", parameters: parameters)
            let copied: Int
            do {
                copied = try db.count("SELECT count(*) \(from)", parameters: parameters)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                continue   // reads a column an earlier pending migration adds
            }
            guard copied != rows else { continue }
            let foreignKeys = try Row.fetchAll(db, sql: "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", arguments: [recreation.table])
            let find = foreignKeys.isEmpty
                ? "compare the table with the copy's source: SELECT count(*) \(from)"
                : "list them with PRAGMA foreign_key_check(\(recreation.table.quotedIdentifier))"
            if copied < rows {
                throw MigrationError(.rowsNotCarried, """
                    table \(recreation.table) has \(rows - copied) row(s) that migration \(script.version) (\(script.name)) \
                    cannot carry over: its copy reads them through `\(from.split(separator: "\n").joined(separator: " "))`, \
                    which finds \(copied) of \(rows) rows. They usually refer to a parent row that no longer exists (a \
                    writer that ran with foreign keys off). The migrator never drops them silently: \(find), then delete them or \
                    restore what they refer to, and migrate again. Nothing was changed
                    """, version: script.version, object: recreation.table)
            }
            throw MigrationError(.rowsNotCarried, """
                table \(recreation.table): the copy of migration \(script.version) (\(script.name)) would make \(copied) rows \
                of its \(rows) (a parent key that is not unique); \(find), fix the duplicates, and migrate again. Nothing was changed
                """, version: script.version, object: recreation.table)
        }
    }

    /// `FROM …` to the end of a SELECT: its top-level FROM clause with what follows.
    static func fromClause(of select: String) -> String? {
        var depth = 0
        for token in SQLTokenizer.tokens(select) {
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            if depth == 0, token.isKeyword("from") {
                return select.utf8Text(token.range.lowerBound..<select.utf8.count)
            }
        }
        return nil
    }
}
