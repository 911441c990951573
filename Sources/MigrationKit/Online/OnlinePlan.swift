import GRDB

/// Everything the online path derives from a `--! recreate` migration and the
/// database before it changes anything: per recreated table its new and old
/// names, the copy as a repeatable query, the row steps, the indexes to move, and
/// the capture triggers; then the steps left for the cut-over.
///
/// Every way a migration or schema can fall outside what the online path does
/// correctly is refused here, by name, before anything is written.
struct OnlinePlan {
    /// One recreated table.
    struct Table {
        /// Its number in the change log.
        let number: Int
        let name: String
        /// Where the new table is built while the old one serves the deployer.
        let newName: String
        /// Where the old table goes at the cut-over, to be emptied in batches.
        let oldName: String
        /// `CREATE TABLE newName …`, pointing at the other new tables.
        let createSQL: String
        /// The text the offline migration leaves, set at the cut-over so the schemas match to the byte.
        var finalCreateSQL: String
        let copy: CopyQuery
        /// The new table's columns the copy fills, `rowid` first when it has no INTEGER PRIMARY KEY.
        var targets: [String] = []
        /// The new table's INTEGER PRIMARY KEY column, if it has one (else the copy fills `rowid`).
        var rowidColumn: String?
        /// The migration's row steps on this table, in order.
        var steps: [RowStep] = []
        /// The row steps of recreated tables the copy joins, per join: offline they run
        /// on every row before any copy, so online they run on the joined rows first.
        var joinedSteps: [(join: CopyQuery.Join, steps: [RowStep])] = []
        /// Indexes built on the new table while it is empty, under temporary names (the old
        /// table keeps its own until the cut-over): the migration's and the old table's.
        var newIndexes: [String] = []
        /// Each of those indexes' temporary name, final name and the text the offline migration gives it.
        var finalIndexSQL: [(temporary: String, name: String, sql: String)] = []
        var restoredIndexes: [String] = []
        /// Whether `sqlite_stat1` had statistics for it, to refresh at the cut-over.
        var hadStatistics = false
        /// Columns an operator added (`table.column`), carried into the new table.
        var carriedColumns: [String] = []

        /// The final texts as SQLite itself stores them (from CREATE to the end, no comment
        /// before it: a stored text must start with CREATE), made on a scratch database.
        fileprivate mutating func useStoredText() throws {
            let scratch = try DatabaseQueue()
            let create = finalCreateSQL, indexes = finalIndexSQL, name = self.name
            let stored = try scratch.write { db -> (String, [(temporary: String, name: String, sql: String)]) in
                try db.execute(sql: create)
                for index in indexes { try db.execute(sql: index.sql) }
                let text = { (object: String) in try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = ?", arguments: [object]) }
                return (try text(name) ?? create, try indexes.map { ($0.temporary, $0.name, try text($0.name) ?? $0.sql) })
            }
            finalCreateSQL = stored.0
            finalIndexSQL = stored.1
        }
    }

    /// A table whose writes the capture triggers record: a recreated table, or a
    /// table a copy joins.
    struct TriggerTable {
        let name: String
        /// The recreated table this is, if it is one.
        let number: Int?
        /// Each unique key (column and collation), for the rows an INSERT OR REPLACE deletes silently.
        let uniqueKeys: [[(column: String, collation: String)]]
        /// Copies that join this table: (the recreated table, its join).
        var dependents: [(table: Int, join: CopyQuery.Join)] = []
    }

    let version: Int
    let tables: [Table]
    let triggerTables: [TriggerTable]
    /// The migration's steps after the rebuild that run at the cut-over: objects it creates new.
    let cutOverSteps: [String]
    let names: OnlineNames

    func table(named name: String) -> Table? { tables.first { $0.name.equalsIgnoringASCIICase(name) } }

    /// - Parameter resuming: the online objects exist already (a run picked up after a crash).
    static func make(_ db: Database, script: MigrationScript, names: OnlineNames, schema: SchemaSnapshot, resuming: Bool) throws -> OnlinePlan {
        let definition = script.definition
        let version = script.version
        func refuse(_ message: String) -> MigrationError { MigrationError(.onlineNotPossible, message, version: version) }

        let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?"
        guard mode.lowercased() == "wal" else {
            throw MigrationError(.onlineNeedsWAL, "the online migration needs the database in WAL mode, so the deployer can read and write while the copy runs, and it is in journal mode \(mode)", version: version)
        }
        let recreated = definition.recreations.map { $0.table.lowercased() }
        var newNames: [String: String] = [:]
        for name in recreated { newNames[name] = names.new(name) }
        for name in Set(recreated).flatMap({ [names.new($0), names.old($0)] }) where try !resuming && db.tableExists(name) {
            throw refuse("a table named \(name) is in the way of the online copy; it is not one this tool left behind (`status` would say so). Rename or drop it first")
        }

        var blocksBefore: [String] = [], blocksAfter: [String] = []
        for step in definition.steps {
            switch step {
            case .sql(let block, afterRecreations: false): blocksBefore.append(block)
            case .sql(let block, afterRecreations: true): blocksAfter.append(block)
            case .recreate: break   // the tables, below
            }
        }
        // Steps before the rebuild: row steps on recreated tables.
        var steps: [RowStep] = []
        for block in blocksBefore {
            for sql in try statements(db, block) {
                let step = try RowStep(sql, migration: version)
                guard recreated.contains(step.table.lowercased()) else {
                    throw refuse("migration \(version) changes \(step.table) before its rebuild, a table it does not recreate; online, only recreated tables may be changed by a step")
                }
                steps.append(step)
            }
        }
        // Steps after: indexes on recreated tables are built on the new (empty) tables
        // before the copy; objects the migration creates new are made at the cut-over.
        var indexesByTable: [String: [IndexStatement]] = [:]
        var cutOverSteps: [String] = []
        var createdTables: Set<String> = []
        for block in blocksAfter {
            for sql in try statementTexts(block) {
                if let index = IndexStatement(sql), recreated.contains(index.table.lowercased()) {
                    indexesByTable[index.table.lowercased(), default: []].append(index)
                    continue
                }
                let tokens = SQLTokenizer.tokens(sql)
                let words = tokens.prefix(6).filter { $0.kind == .word }.map { $0.text.lowercased() }
                if let index = IndexStatement(sql), createdTables.contains(index.table.lowercased()) {
                    cutOverSteps.append(sql)
                } else if words.first == "create", let kind = words.dropFirst().first(where: { ["table", "view", "trigger"].contains($0) }) {
                    if kind == "table", let nameToken = tokens.first(where: { $0.canBeName && !["create", "table", "if", "not", "exists", "temp", "temporary"].contains($0.text.lowercased()) }) {
                        createdTables.insert(nameToken.name.lowercased())
                    }
                    cutOverSteps.append(sql)
                } else {
                    throw refuse("migration \(version) runs `\(sql.prefix(80))` after its rebuild; online that would run under the cut-over's lock, where only creating new tables, views, triggers and indexes on them can be short")
                }
            }
        }

        var tables: [Table] = []
        for (number, recreation) in definition.recreations.enumerated() {
            let lower = recreation.table.lowercased()
            guard let old = schema.object(named: recreation.table), old.type == "table", old.sql != nil else {
                throw MigrationError(.unknownSchema, "the migration recreates table \(recreation.table), which this database does not have", object: recreation.table)
            }
            let oldTable = try CreateTableStatement.read(db, table: recreation.table)
            let newTable = try CreateTableStatement(sql: recreation.createSQL)
            guard !oldTable.isWithoutRowid, !newTable.isWithoutRowid else {
                throw refuse("table \(recreation.table) is WITHOUT ROWID; the online copy follows rows by their rowid")
            }
            for column in oldTable.columns.map(\.name) + newTable.columns.map(\.name)
            where ["rowid", "oid", "_rowid_"].contains(column.lowercased()) {
                throw refuse("table \(recreation.table) has a column named \(column), which hides the rowid the online copy follows rows by")
            }
            let carry = try TableRecreation.carryOver(recreation, definition: definition, old: oldTable, new: newTable)
            let extras = carry.extras
            let newName = names.new(recreation.table)
            var create = newTable.sql(renamedTo: newName, addingColumns: extras.map(\.definition))
            create = ForeignKeyTargets.rewrite(create, renaming: newNames)

            // The new row must keep the old row's rowid: that is how a change is followed.
            let rowidColumn = try rowidAlias(ofCreate: create)
            let oldRowidColumn = try rowidAlias(ofTable: recreation.table, db)
            var targets = carry.targets
            let alias = carry.alias
            var select = carry.select
            if let rowidColumn {
                let kept = recreation.copySQL == nil
                    ? oldRowidColumn?.equalsIgnoringASCIICase(rowidColumn) == true
                    : try targets.firstIndex(where: { $0.equalsIgnoringASCIICase(rowidColumn) })
                        .map { try selectItem(select, at: $0, isRowidOf: alias, oldRowidColumn: oldRowidColumn) } ?? false
                guard kept else {
                    throw refuse(recreation.copySQL == nil
                        ? "table \(recreation.table)'s new \(rowidColumn) would not be the old row's rowid, so the online copy could not match new rows to old ones"
                        : "the copy of \(recreation.table) must fill \(rowidColumn) with the old row's \(oldRowidColumn ?? "rowid"), so each new row can be matched to the row it came from")
                }
            } else {
                targets.insert("rowid", at: 0)
                select = try selectAddingFirst(select, "\(alias.quotedIdentifier).rowid")
            }
            let insert = "INSERT INTO \(newName.quotedIdentifier) (\(targets.map(\.quotedIdentifier).joined(separator: ", ")))"
            let copy = try CopyQuery(insert: insert, select: select, table: recreation.table)
            for join in copy.joins {
                if join.table.equalsIgnoringASCIICase(recreation.table) || join.alias.equalsIgnoringASCIICase(copy.alias) {
                    throw refuse("the copy of \(recreation.table) joins its own table")
                }
                if let position = recreated.firstIndex(of: join.table.lowercased()), position >= number {
                    throw refuse("the copy of \(recreation.table) joins \(join.table), which the migration recreates after it; recreate \(join.table) first")
                }
            }

            var table = Table(number: number, name: recreation.table, newName: newName, oldName: names.old(recreation.table),
                              createSQL: create, finalCreateSQL: newTable.sql(renamedTo: recreation.table, addingColumns: extras.map(\.definition)),
                              copy: copy)
            table.targets = targets
            table.rowidColumn = rowidColumn
            table.carriedColumns = extras.map { "\(recreation.table).\($0.name)" }
            table.steps = steps.filter { $0.table.equalsIgnoringASCIICase(recreation.table) }
            table.joinedSteps = copy.joins.compactMap { join in
                let joined = steps.filter { $0.table.equalsIgnoringASCIICase(join.table) }
                return joined.isEmpty ? nil : (join, joined)
            }
            // The migration's own indexes on this table, then the old table's that it does not replace.
            var indexes = (indexesByTable[lower] ?? []).map { (index: $0, final: $0.sql) }
            for object in schema.objects where object.type == "index" && object.table.equalsIgnoringASCIICase(recreation.table) {
                guard let sql = object.sql else { continue }
                guard let index = IndexStatement(sql) else {
                    throw refuse("index \(object.name) on \(recreation.table) is written in a way this tool cannot move (\(sql.prefix(60)))")
                }
                let replaced = indexesByTable.values.joined().contains { $0.name.equalsIgnoringASCIICase(object.name) }
                if !replaced && !definition.isDropped("index", object.name) {
                    indexes.append((index, sql))
                    table.restoredIndexes.append("index \(object.name)")
                }
            }
            for (index, final) in indexes {
                let temporary = names.newIndex(index.name)
                for name in [temporary, names.oldIndex(index.name)]
                where try !resuming && (try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name = ? COLLATE NOCASE", arguments: [name]) ?? false) {
                    throw refuse("an object named \(name) is in the way of the online copy; rename or drop it first")
                }
                table.newIndexes.append(index.sql(name: temporary, table: newName))
                table.finalIndexSQL.append((temporary, index.name, final))
            }
            if try db.tableExists("sqlite_stat1") {
                table.hadStatistics = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_stat1 WHERE tbl = ? COLLATE NOCASE", arguments: [recreation.table]) ?? false
            }
            try table.useStoredText()
            tables.append(table)
        }

        // The tables whose writes are captured: the recreated ones and the ones their copies join.
        var triggerTables: [TriggerTable] = []
        for table in tables {
            triggerTables.append(TriggerTable(name: table.name, number: table.number, uniqueKeys: try uniqueKeys(db, table.name, version: version)))
        }
        for table in tables {
            for join in table.copy.joins {
                if let existing = triggerTables.firstIndex(where: { $0.name.equalsIgnoringASCIICase(join.table) }) {
                    triggerTables[existing].dependents.append((table.number, join))
                } else {
                    guard try db.tableExists(join.table) else {
                        throw refuse("the copy of \(table.name) joins \(join.table), which this database does not have")
                    }
                    var joined = TriggerTable(name: join.table, number: nil, uniqueKeys: try uniqueKeys(db, join.table, version: version))
                    joined.dependents.append((table.number, join))
                    triggerTables.append(joined)
                }
            }
        }
        return OnlinePlan(version: version, tables: tables, triggerTables: triggerTables, cutOverSteps: cutOverSteps, names: names)
    }

    /// The statements of a block, as SQLite splits them, compiled against the database as it is.
    private static func statements(_ db: Database, _ block: String) throws -> [String] {
        var result: [String] = []
        let statements = try db.allStatements(sql: block)
        while let statement = try statements.next() { result.append(statement.sql) }
        return result
    }

    /// The statements of a block that may name objects created by earlier ones, split on top-level `;`.
    private static func statementTexts(_ block: String) throws -> [String] {
        var result: [String] = []
        var start = 0
        for token in SQLTokenizer.tokens(block) where token.isPunctuation(";") {
            let text = block.utf8Text(start..<token.range.lowerBound).trimmingWhitespace
            if !text.isEmpty { result.append(text) }
            start = token.range.upperBound
        }
        let rest = block.utf8Text(start..<block.utf8.count).trimmingWhitespace
        if !SQLTokenizer.tokens(rest).isEmpty { result.append(rest) }
        return result
    }

    /// The INTEGER PRIMARY KEY column (the rowid's alias) of a CREATE TABLE, asked of SQLite itself.
    private static func rowidAlias(ofCreate sql: String) throws -> String? {
        let scratch = try DatabaseQueue()
        return try scratch.write { db in
            try db.execute(sql: sql)
            let name = try String.fetchOne(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") ?? ""
            return try rowidAlias(ofTable: name, db)
        }
    }

    /// SQLite's rule: the only primary key column, declared INTEGER; and no index
    /// carries that key (`INTEGER PRIMARY KEY DESC` gets one, and is no alias).
    private static func rowidAlias(ofTable table: String, _ db: Database) throws -> String? {
        let keys = try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?) WHERE pk > 0", arguments: [table])
        guard keys.count == 1, (keys[0]["type"] as String).uppercased() == "INTEGER" else { return nil }
        let keyIndexes = try Int.fetchOne(db, sql: "SELECT count(*) FROM pragma_index_list(?) WHERE origin = 'pk'", arguments: [table]) ?? 0
        return keyIndexes == 0 ? keys[0]["name"] : nil
    }

    /// Whether the select list's item at `position` is the driving table's rowid (or its alias column).
    private static func selectItem(_ select: String, at position: Int, isRowidOf alias: String, oldRowidColumn: String?) throws -> Bool {
        let items = selectItems(select)
        guard position < items.count else { return false }
        let item = items[position].filter { !$0.isKeyword("as") }
        let names = ["rowid", "oid", "_rowid_"] + (oldRowidColumn.map { [$0] } ?? [])
        func isRowid(_ token: SQLToken) -> Bool { token.canBeName && names.contains { token.name.equalsIgnoringASCIICase($0) } }
        if item.count >= 3, item[0].name.equalsIgnoringASCIICase(alias), item[1].isPunctuation("."), isRowid(item[2]) { return item.count <= 4 }
        if item.count >= 1, isRowid(item[0]) { return item.count <= 2 }
        return false
    }

    /// The select list's items as token lists (top-level commas before FROM).
    private static func selectItems(_ select: String) -> [[SQLToken]] {
        var items: [[SQLToken]] = [[]]
        var depth = 0
        for token in SQLTokenizer.tokens(select).dropFirst() {
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            if depth == 0, token.isKeyword("from") { break }
            if depth == 0, token.isPunctuation(",") { items.append([]); continue }
            items[items.count - 1].append(token)
        }
        return items
    }

    /// `select` with `expression` as its first result column.
    private static func selectAddingFirst(_ select: String, _ expression: String) throws -> String {
        guard let first = SQLTokenizer.tokens(select).first, first.isKeyword("select") else {
            throw MigrationError(.malformedMigration, "a `copy` block must be a SELECT … FROM …: \(select.prefix(80))")
        }
        return "SELECT " + expression + ", " + select.utf8Text(first.range.upperBound..<select.utf8.count).trimmingWhitespace
    }

    private static func uniqueKeys(_ db: Database, _ table: String, version: Int) throws -> [[(column: String, collation: String)]] {
        var keys: [[(column: String, collation: String)]] = []
        for index in try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1", arguments: [table]) {
            let parts = try Row.fetchAll(db, sql: "SELECT cid, name, coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", arguments: [index])
            if parts.contains(where: { ($0["cid"] as Int) == -2 }) {
                throw MigrationError(.onlineNotPossible, "table \(table) has the unique index \(index) on an expression; the online copy cannot follow the rows an INSERT OR REPLACE would delete through it. Drop it for the migration, or migrate without online", version: version)
            }
            keys.append(parts.compactMap { part in
                (part["name"] as String?).map { (column: $0, collation: part["coll"] as String? ?? "BINARY") }
            })
        }
        return keys.filter { !$0.isEmpty }
    }
}
