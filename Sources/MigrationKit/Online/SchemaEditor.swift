import GRDB

/// Edits `sqlite_master` rows in place, inside the caller's transaction, by the
/// procedure SQLite's documentation gives for changes ALTER TABLE cannot make
/// (https://www.sqlite.org/lang_altertable.html#otheralter, "simpler procedure"):
/// `writable_schema` on, the rows updated, the schema version incremented (every
/// connection then reloads the schema), `writable_schema` off.
///
/// The online path needs two such changes, neither of which touches a page of data:
/// renaming an index (SQLite has no ALTER INDEX … RENAME, and index names are
/// global), and pointing an old table's foreign keys at the other old tables.
enum SchemaEditor {
    static func edit(_ db: Database, log: ((String) -> Void)?, _ body: () throws -> Void) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? 0
        log?("PRAGMA writable_schema = ON")
        try db.execute(sql: "PRAGMA writable_schema = ON")
        do {
            try body()
            // An integer this code computed, not a value from outside (PRAGMA takes no parameters).
            log?("PRAGMA schema_version = \(version + 1)")
            try db.execute(sql: "PRAGMA schema_version = \(version + 1)")
        } catch {
            try? db.execute(sql: "PRAGMA writable_schema = OFF")
            throw error
        }
        log?("PRAGMA writable_schema = OFF")
        try db.execute(sql: "PRAGMA writable_schema = OFF")
    }

    /// Renames index `name` to `newName`, its SQL to `sql`; statistics follow it.
    static func renameIndex(_ db: Database, _ name: String, to newName: String, sql: String, log: ((String) -> Void)?) throws {
        let update = "UPDATE sqlite_master SET name = ?, sql = ? WHERE type = 'index' AND name = ?"
        log?(update)
        try db.execute(sql: update, arguments: [newName, sql, name])
        guard db.changesCount == 1 else {
            throw MigrationError(.unexpectedFailure, "index \(name) was not found to rename it to \(newName); nothing was changed")
        }
        for statistics in ["sqlite_stat1", "sqlite_stat4"] where try db.tableExists(statistics) {
            try db.execute(sql: "UPDATE \(statistics) SET idx = ? WHERE idx = ?", arguments: [newName, name])
        }
    }

    /// Replaces the CREATE TABLE text of `table` (the caller keeps its columns and keys).
    static func setTableSQL(_ db: Database, _ table: String, _ sql: String, log: ((String) -> Void)?) throws {
        try setSQL(db, type: "table", name: table, sql, log: log)
    }

    /// Replaces the text of an object with one that means the same to SQLite
    /// (the caller's promise: only quoting, spacing or a foreign key's target differ).
    static func setSQL(_ db: Database, type: String, name: String, _ sql: String, log: ((String) -> Void)?) throws {
        let update = "UPDATE sqlite_master SET sql = ? WHERE type = ? AND name = ? AND sql IS NOT ?"
        log?(update)
        try db.execute(sql: update, arguments: [sql, type, name, sql])
    }
}
