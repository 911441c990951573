import GRDB
import SQLiteFiles

/// SQLite's generalized ALTER TABLE procedure
/// (https://www.sqlite.org/lang_altertable.html#otheralter) for the tables a
/// migration recreates. Steps 1, 2, 10–12 (foreign keys off, BEGIN, foreign key
/// check, COMMIT, foreign keys back) belong to the caller's transaction.
struct TableRecreation {
    let definition: MigrationDefinition
    let parameters: MigrationParameters
    let log: ((String) -> Void)?
    let progress: ProgressHandler?
    let bookkeepingPrefix: String

    /// What the recreation captured, to put back after the migration's own steps.
    struct Captured {
        /// Indexes of recreated tables, and every trigger and view, in `sqlite_master` order.
        var objects: [SchemaObject] = []
        /// Tables that had `sqlite_stat1` statistics, to re-ANALYZE.
        var analyzedTables: [String] = []
        /// Columns an operator added (`table.column`), carried into the new tables.
        var carriedColumns: [String] = []
    }

    private func run(_ db: Database, _ sql: String) throws {
        try db.executeStatements(sql, parameters: parameters, log: log)
    }

    /// Steps 3–7 and the view part of 9: capture, create, copy, drop, rename.
    func replaceTables(_ db: Database) throws -> Captured {
        let schema = try SchemaSnapshot.read(db, excludingPrefix: bookkeepingPrefix)
        let recreated = Set(definition.recreations.map { $0.table.lowercased() })
        var captured = Captured()

        // 3. Remember every index, trigger and view the tables had, including
        //    ones the migration did not create. Triggers and views anywhere may
        //    name the recreated tables, so all of them are dropped and restored.
        captured.objects = schema.objects.filter { object in
            guard object.sql != nil else { return false }
            switch object.type {
            case "index": return recreated.contains(object.table.lowercased())
            case "trigger", "view": return true
            default: return false
            }
        }
        if try db.tableExists("sqlite_stat1") {
            let analyzed = try String.fetchAll(db, sql: "SELECT DISTINCT tbl FROM sqlite_stat1")
            captured.analyzedTables = analyzed.filter { recreated.contains($0.lowercased()) }
        }
        var sequences: [(String, Int64)] = []
        if try db.tableExists("sqlite_sequence") {
            for recreation in definition.recreations {
                if let seq = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [recreation.table]) {
                    sequences.append((recreation.table, seq))
                }
            }
        }

        // 4–5. Each new table under a temporary name, then its content.
        for recreation in definition.recreations {
            guard let old = schema.object(named: recreation.table), old.type == "table", old.sql != nil else {
                throw MigrationError(.unknownSchema, "the migration recreates table \(recreation.table), which this database does not have", object: recreation.table)
            }
            // Read as SQLite reads it, and checked against SQLite's own description.
            let oldTable = try CreateTableStatement.read(db, table: recreation.table)
            let newTable = try CreateTableStatement(sql: recreation.createSQL)
            let carry = try Self.carryOver(recreation, definition: definition, old: oldTable, new: newTable)
            captured.carriedColumns += carry.extras.map { "\(recreation.table).\($0.name)" }
            let temporary = Self.temporaryName(recreation.table, bookkeepingPrefix: bookkeepingPrefix)
            // A CHECK naming its own table names the temporary one until the rename.
            try run(db, newTable.sql(renamedTo: temporary, addingColumns: carry.extras.map(\.definition)))
            let copy = "INSERT INTO \(temporary.quotedIdentifier) (\(carry.targets.map(\.quotedIdentifier).joined(separator: ", ")))\n\(carry.select)"
            try copyInChunks(db, copy, table: recreation.table, alias: carry.alias, hasRowid: !oldTable.isWithoutRowid)
        }

        // Since SQLite 3.26, RENAME re-checks every view and trigger: drop them
        // first (step 9 recreates them), or the rename fails on the missing table.
        for object in captured.objects.reversed() where object.type != "index" {
            try run(db, "DROP \(object.type.uppercased()) IF EXISTS \(object.name.quotedIdentifier)")
        }
        let dropWatch = Stopwatch()
        progress?(.started(phase: "drop old tables, rename", total: nil))
        defer { progress?(.finished(phase: "drop old tables, rename", seconds: dropWatch.elapsedSeconds)) }
        // 6. Drop the old tables. Foreign keys are off, so no cascade fires.
        for recreation in definition.recreations.reversed() {
            try run(db, "DROP TABLE \(recreation.table.quotedIdentifier)")
        }
        // 7. Rename the new tables into place.
        for recreation in definition.recreations {
            try run(db, "ALTER TABLE \(Self.temporaryName(recreation.table, bookkeepingPrefix: bookkeepingPrefix).quotedIdentifier) RENAME TO \(recreation.table.quotedIdentifier)")
        }
        // AUTOINCREMENT counters die with the old table; keep ids from being reused.
        let ensureRow = "INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)"
        let restoreSeq = "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?"
        for (table, seq) in sequences {
            log?(ensureRow)
            try db.execute(sql: ensureRow, arguments: [table, table])
            log?(restoreSeq)
            try db.execute(sql: restoreSeq, arguments: [seq, table])
        }
        return captured
    }

    /// Rows per chunk of a table copy: small enough for progress every second
    /// or so, large enough that the extra seek per chunk costs nothing.
    static let chunkRows = 100_000

    /// Runs `copy` (an INSERT … SELECT … FROM table) in rowid-ordered chunks,
    /// all inside the caller's transaction, so progress can say rows done of
    /// total. Copies that filter, group or order themselves run whole.
    private func copyInChunks(_ db: Database, _ copy: String, table: String, alias: String, hasRowid: Bool) throws {
        let phase = "copy \(table)"
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table.quotedIdentifier)") ?? 0
        let watch = Stopwatch()
        progress?(.started(phase: phase, total: total))
        defer { progress?(.finished(phase: phase, seconds: watch.elapsedSeconds)) }
        let clauses = SQLTokenizer.tokens(copy).filter { token in ["where", "group", "order", "limit", "union"].contains { token.isKeyword($0) } }
        guard hasRowid, clauses.isEmpty, total > Self.chunkRows else {
            try run(db, copy)
            return
        }
        let chunked = copy + "\nWHERE \(alias.quotedIdentifier).rowid >= :migrationkit_chunk_start AND \(alias.quotedIdentifier).rowid < :migrationkit_chunk_end"
        log?(chunked + " -- in chunks of \(Self.chunkRows) rows, in rowid order")
        let statement = try db.makeStatement(sql: chunked)
        let boundary = try db.makeStatement(sql: "SELECT rowid FROM \(table.quotedIdentifier) WHERE rowid >= ? ORDER BY rowid LIMIT 1 OFFSET \(Self.chunkRows)")
        var start = try Int64.fetchOne(db, sql: "SELECT min(rowid) FROM \(table.quotedIdentifier)") ?? 0
        var done = 0
        while true {
            let end = try Int64.fetchOne(boundary, arguments: [start])
            try statement.bind(parameters, extra: ["migrationkit_chunk_start": start, "migrationkit_chunk_end": end ?? Int64.max])
            try statement.execute()
            done = min(total, done + Self.chunkRows)
            progress?(.advanced(phase: phase, done: done, total: total))
            guard let end else { break }
            start = end
        }
    }

    /// Step 8 (and 9 for views): put back every captured index, trigger and view
    /// the migration's own steps did not replace; then refresh statistics.
    func restore(_ db: Database, _ captured: Captured) throws -> [String] {
        let watch = Stopwatch()
        progress?(.started(phase: "recreate indexes, triggers, views", total: nil))
        defer { progress?(.finished(phase: "recreate indexes, triggers, views", seconds: watch.elapsedSeconds)) }
        var restored: [String] = []
        for object in captured.objects {
            guard let sql = object.sql, !definition.isDropped(object.type, object.name) else { continue }
            let exists = try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name = ? COLLATE NOCASE", arguments: [object.name]) ?? false
            if exists { continue }
            do {
                try run(db, sql)
            } catch {
                // A unique index the copied rows now break is the data's doing; anything else, the schema's.
                let isData = (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT
                throw MigrationError(isData ? .dataConflict : .failedVerification, "could not recreate \(object.type) \(object.name) on the recreated table \(object.table): \(error); everything was rolled back. If it is obsolete, drop it first, then migrate again.", object: object.name, underlying: error as? DatabaseError)
            }
            restored.append("\(object.type) \(object.name)")
        }
        if !captured.analyzedTables.isEmpty {
            // Approximate statistics, as `PRAGMA optimize` keeps them: enough for
            // the planner, and ANALYZE no longer reads whole tables under the lock.
            try run(db, "PRAGMA analysis_limit = 1000")
            for table in captured.analyzedTables {
                try run(db, "ANALYZE \(table.quotedIdentifier)")
            }
        }
        return restored
    }

    /// The new table's name until the rename: the tool's bookkeeping prefix keeps it out of the operator's names.
    static func temporaryName(_ table: String, bookkeepingPrefix: String) -> String { "\(table)__\(bookkeepingPrefix)new" }

    /// `select` with `expressions` appended to its result columns (before its first top-level FROM).
    /// What a recreation carries from the old table to the new, the one rule the offline
    /// and the online path share: the columns an operator added (not declared dropped)
    /// come along, and the copy fills the new table's insertable columns and the carried
    /// ones (generated columns are computed by SQLite, never inserted nor selected).
    struct CarryOver {
        /// The old table's columns the new definition lacks, kept.
        let extras: [CreateTableStatement.Column]
        let targets: [String]
        /// The SELECT giving `targets`, in order: the migration's `copy` block with the carried
        /// columns added, or the same-named columns.
        let select: String
        /// How the SELECT names the old table.
        let alias: String
    }

    static func carryOver(_ recreation: MigrationDefinition.Recreation, definition: MigrationDefinition,
                          old: CreateTableStatement, new: CreateTableStatement) throws -> CarryOver {
        let extras = old.columns.filter {
            new.column(named: $0.name) == nil && !definition.isDropped("column", "\(recreation.table).\($0.name)")
        }
        let copiedExtras = extras.filter { !$0.isGenerated }
        let alias = recreation.copyAlias ?? recreation.table
        var targets = new.insertableColumns.map(\.name) + copiedExtras.map(\.name)
        let select: String
        if let copySQL = recreation.copySQL {
            select = try Self.select(copySQL, adding: copiedExtras.map { "\(alias.quotedIdentifier).\($0.name.quotedIdentifier)" })
        } else {
            targets = targets.filter { old.column(named: $0) != nil }   // a generated one reads as any other
            select = "SELECT \(targets.map(\.quotedIdentifier).joined(separator: ", ")) FROM \(recreation.table.quotedIdentifier)"
        }
        return CarryOver(extras: extras, targets: targets, select: select, alias: alias)
    }

    static func select(_ select: String, adding expressions: [String]) throws -> String {
        guard !expressions.isEmpty else { return select }
        var depth = 0
        for token in SQLTokenizer.tokens(select) {
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            if depth == 0, token.isKeyword("from") {
                let head = select.utf8Text(0..<token.range.lowerBound).trimmingWhitespace
                return head + ", " + expressions.joined(separator: ", ") + "\n" + select.utf8Text(token.range.lowerBound..<select.utf8.count)
            }
        }
        throw MigrationError(.malformedMigration, "a `copy` block must be a SELECT … FROM …: \(select.prefix(80))")
    }
}
