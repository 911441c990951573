import CSQLiteSettings
import GRDB

/// Fires triggers and reads views, each inside a transaction (or savepoint) rolled back, to find
/// the ones that no longer work: a trigger whose INSERT misses a column the new schema
/// requires (`NOT NULL constraint failed`), a view or trigger naming a column that is
/// gone. SQLite recreates such objects without a word; only running them tells.
///
/// A trigger fires on a row of its own: one written for the probe (every column given a
/// value of its declared type) with triggers off, then the trigger's event with triggers
/// on. Its `WHEN` clause is left out for the probe, since the row cannot be made to meet
/// every condition; a `RAISE` is the trigger working as written, not a failure. A trigger
/// whose table refuses any such row (a CHECK the values do not meet) is left unprobed.
/// Foreign keys are the caller's to turn off (the probe row has no parent).
struct KeptObjectProbe {
    /// An object that did not work, with SQLite's own words.
    struct Failure: Sendable, Hashable {
        let type: String
        let name: String
        let reason: String
        var description: String { "\(type) \(name): \(reason)" }
    }

    /// Every trigger and view of `schema` except the tool's own (`excludingPrefix`), in schema order.
    static func objects(_ schema: SchemaSnapshot, excludingPrefix prefix: String) -> [SchemaObject] {
        schema.objects.filter { object in
            (object.type == "trigger" || object.type == "view") && object.sql != nil
                && !object.name.hasPrefix(prefix) && !object.table.hasPrefix(prefix)
        }
    }

    /// Runs each object once, inside a savepoint rolled back: what the database holds afterwards is what it held.
    static func run(_ db: Database, objects: [SchemaObject], log: ((String) -> Void)? = nil) throws -> [Failure] {
        var failures: [Failure] = []
        for object in objects {
            if let reason = try probe(db, object, log: log) {
                failures.append(Failure(type: object.type, name: object.name, reason: reason))
            }
        }
        return failures
    }

    /// The reason `object` does not work, or nil.
    private static func probe(_ db: Database, _ object: SchemaObject, log: ((String) -> Void)?) throws -> String? {
        // Outside a transaction, a transaction of its own, rolled back: a savepoint released
        // there would commit it, and SQLite writes the pages it touched (restored, but
        // written: a WAL frame, the header's counters) even when nothing changed.
        let savepoint = "migrationkit_object_probe"
        let nested = db.isInsideTransaction
        log?("\(nested ? "SAVEPOINT \(savepoint)" : "BEGIN") -- \(object.type) \(object.name), rolled back")
        try db.execute(sql: nested ? "SAVEPOINT \(savepoint)" : "BEGIN")
        defer {
            // A RAISE(ROLLBACK) ends the whole transaction, and the savepoint with it.
            if db.isInsideTransaction {
                if nested {
                    try? db.execute(sql: "ROLLBACK TO \(savepoint)")
                    try? db.execute(sql: "RELEASE \(savepoint)")
                } else {
                    try? db.execute(sql: "ROLLBACK")
                }
            }
        }
        do {
            if object.type == "view" {
                _ = try Row.fetchOne(db, sql: "SELECT * FROM \(object.name.quotedIdentifier) LIMIT 1")
                return nil
            }
            return try fire(db, object)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_TRIGGER {
            return nil   // RAISE(ABORT, …): the trigger refused the probe row, as written
        } catch let error as DatabaseError where ![.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_FULL].contains(error.resultCode) {
            return error.message ?? "\(error.resultCode)"   // the object's failure; the file's own errors go to the caller
        }
    }

    /// Fires `trigger` on a probe row of its table; nil when it ran (or could not be fired at all).
    private static func fire(_ db: Database, _ trigger: SchemaObject) throws -> String? {
        guard let sql = trigger.sql, let shape = TriggerShape(sql) else { return nil }
        // Alone on its table: another trigger's RAISE would stop the event before this one ran.
        for other in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? COLLATE NOCASE AND name <> ?",
                                         arguments: [trigger.table, trigger.name]) {
            try db.execute(sql: "DROP TRIGGER \(other.quotedIdentifier)")
        }
        if let unconditional = shape.withoutWhen {
            try db.execute(sql: "DROP TRIGGER \(trigger.name.quotedIdentifier)")
            try db.execute(sql: unconditional)
        }
        let table = trigger.table
        let isView = try String.fetchOne(db, sql: "SELECT type FROM sqlite_master WHERE name = ? COLLATE NOCASE", arguments: [table]) == "view"
        let row = try ProbeRow.make(db, table: table)
        if isView {
            // INSTEAD OF: an INSERT runs on the probe row; an UPDATE or DELETE on the view's
            // rows, which need not exist, so it is compiled (the trigger's body with it).
            switch shape.event {
            case .insert: try row.insert(db)
            case .update: _ = try db.makeStatement(sql: "UPDATE \(table.quotedIdentifier) SET \(row.selfAssignments)")
            case .delete: _ = try db.makeStatement(sql: "DELETE FROM \(table.quotedIdentifier)")
            }
            return nil
        }
        let withoutRowid = try Bool.fetchOne(db, sql: "SELECT wr FROM pragma_table_list WHERE name = ? COLLATE NOCASE", arguments: [table]) ?? false
        switch shape.event {
        case .insert:
            guard try row.isAccepted(db) else { return nil }   // the table refuses any probe row
            try row.insert(db)
        case .update where withoutRowid:
            _ = try db.makeStatement(sql: "UPDATE \(table.quotedIdentifier) SET \(row.selfAssignments)")
        case .delete where withoutRowid:
            _ = try db.makeStatement(sql: "DELETE FROM \(table.quotedIdentifier)")
        case .update:
            guard let rowid = try row.insertWithoutTriggers(db) else { return nil }
            try db.execute(sql: "UPDATE \(table.quotedIdentifier) SET \(row.selfAssignments) WHERE rowid = ?", arguments: [rowid])
        case .delete:
            guard let rowid = try row.insertWithoutTriggers(db) else { return nil }
            try db.execute(sql: "DELETE FROM \(table.quotedIdentifier) WHERE rowid = ?", arguments: [rowid])
        }
        return nil
    }
}

/// What a `CREATE TRIGGER` fires on, read from SQLite's own text with its tokenizer.
struct TriggerShape {
    enum Event { case insert, update, delete }
    let event: Event
    /// The statement without its `WHEN` clause, or nil when it has none.
    let withoutWhen: String?

    init?(_ sql: String) {
        let tokens = SQLTokenizer.tokens(sql)
        guard let begin = tokens.firstIndex(where: { $0.isKeyword("begin") }) else { return nil }
        let head = tokens[..<begin]
        guard let eventToken = head.first(where: { $0.isKeyword("insert") || $0.isKeyword("update") || $0.isKeyword("delete") })
        else { return nil }
        event = eventToken.isKeyword("insert") ? .insert : eventToken.isKeyword("update") ? .update : .delete
        var depth = 0
        var when: SQLToken?
        for token in head {
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            if depth == 0, token.isKeyword("when") { when = token; break }
        }
        if let when {
            withoutWhen = sql.utf8Text(0..<when.range.lowerBound) + sql.utf8Text(tokens[begin].range.lowerBound..<sql.utf8.count)
        } else {
            withoutWhen = nil
        }
    }
}

/// A row for a probe: every ordinary column of the table given a value of its declared
/// type, bound as parameters.
struct ProbeRow {
    let table: String
    let columns: [String]
    let values: [DatabaseValue]

    static func make(_ db: Database, table: String) throws -> ProbeRow {
        var columns: [String] = []
        var values: [DatabaseValue] = []
        let info = try Row.fetchAll(db, sql: "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?)", arguments: [table])
        let primaryKeyColumns = info.filter { ($0["pk"] as Int? ?? 0) > 0 }
        for column in info where (column["hidden"] as Int? ?? 0) == 0 {
            let name: String = column["name"]
            let type = (column["type"] as String? ?? "").uppercased()
            // The rowid alias is SQLite's to choose (a fixed one could meet a row that exists).
            if primaryKeyColumns.count == 1, (column["pk"] as Int? ?? 0) == 1, type == "INTEGER" { continue }
            columns.append(name)
            values.append(Self.value(forDeclaredType: type))
        }
        return ProbeRow(table: table, columns: columns, values: values)
    }

    /// SQLite's affinity rules (https://www.sqlite.org/datatype3.html#determination_of_column_affinity), in order.
    private static func value(forDeclaredType type: String) -> DatabaseValue {
        if type.contains("INT") { return 1.databaseValue }
        if type.contains("CHAR") || type.contains("CLOB") || type.contains("TEXT") { return "migrationkit-probe".databaseValue }
        if type.contains("BLOB") || type.isEmpty { return "migrationkit-probe".databaseValue }
        if type.contains("REAL") || type.contains("FLOA") || type.contains("DOUB") { return 1.5.databaseValue }
        return 1.databaseValue
    }

    var selfAssignments: String {
        columns.map { "\($0.quotedIdentifier) = \($0.quotedIdentifier)" }.joined(separator: ", ")
    }

    /// Inserts the row; the table's triggers fire.
    func insert(_ db: Database) throws {
        let list = columns.map(\.quotedIdentifier).joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let sql = columns.isEmpty
            ? "INSERT INTO \(table.quotedIdentifier) DEFAULT VALUES"
            : "INSERT INTO \(table.quotedIdentifier) (\(list)) VALUES (\(placeholders))"
        try db.execute(sql: sql, arguments: StatementArguments(values))
    }

    /// Inserts the row with triggers off: its rowid, or nil when the table refuses it (a CHECK, a UNIQUE it meets).
    func insertWithoutTriggers(_ db: Database) throws -> Int64? {
        let was = vmdb_sqlite_enable_triggers(db.sqliteConnection, -1)
        _ = vmdb_sqlite_enable_triggers(db.sqliteConnection, 0)
        defer { _ = vmdb_sqlite_enable_triggers(db.sqliteConnection, was) }
        do {
            try insert(db)
            return db.lastInsertedRowID
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            return nil
        }
    }

    /// Whether the table takes the row (triggers off; the insert is rolled back).
    func isAccepted(_ db: Database) throws -> Bool {
        try db.execute(sql: "SAVEPOINT migrationkit_probe_row")
        defer {
            try? db.execute(sql: "ROLLBACK TO migrationkit_probe_row")
            try? db.execute(sql: "RELEASE migrationkit_probe_row")
        }
        return try insertWithoutTriggers(db) != nil
    }
}
