import GRDB

/// What an online run needs to stay as it made it: the schema of the tables it
/// migrates and of the tables its copies join (their columns, indexes and triggers,
/// the capture triggers among them), of its new tables and of its bookkeeping.
///
/// Every write transaction of the run, and the verification's snapshot, starts by
/// reading `PRAGMA schema_version` (one integer from the file's header); only when
/// it moved are those objects compared with what the prepare left. A change
/// elsewhere in the schema lets the run go on (the cut-over re-reads the rest); a
/// change to them stops it with ``MigrationError/Code/schemaChangedDuringOnline``,
/// and the run is undone (the message saying so is composed once the undo ran),
/// leaving the operator's change as they made it.
final class OnlineSchemaGuard {
    private let names: OnlineNames
    private let tables: [String]
    private let version: Int
    /// The objects as the prepare left them.
    let expected: [String: SchemaObjectText]
    /// The schema version last seen with those objects unchanged.
    private var seenVersion: Int?
    /// Migrated tables whose old or new rows have no INTEGER PRIMARY KEY: the copy follows
    /// them by a rowid a VACUUM may renumber, and a VACUUM leaves `sqlite_master` as it
    /// was (it only moves the schema version), so any move of it stops the run.
    private let renumberable: [String]

    struct SchemaObjectText: Codable, Equatable, Sendable {
        let type: String
        let table: String
        let sql: String?
    }

    /// - Parameter expected: as the prepare recorded them; nil: as they are now.
    init(_ db: Database, plan: OnlinePlan, expected: [String: SchemaObjectText]?) throws {
        names = plan.names
        version = plan.version
        tables = plan.triggerTables.map(\.name) + plan.tables.map(\.newName) + [plan.names.changes, plan.names.state]
        self.expected = try expected ?? Self.objects(db, tables: tables)
        var renumberable: [String] = []
        for table in plan.tables where try OnlinePlan.rowidAlias(ofTable: table.name, db) == nil || OnlinePlan.rowidAlias(ofTable: table.newName, db) == nil {
            renumberable.append(table.name)
        }
        self.renumberable = renumberable
    }

    static func objects(_ db: Database, tables: [String]) throws -> [String: SchemaObjectText] {
        let list = tables.map { $0.asciiLowercased }
        let rows = try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE lower(tbl_name) IN (SELECT value FROM json_each(?))",
                                    arguments: [OnlineMigration.jsonStrings(list)])
        var result: [String: SchemaObjectText] = [:]
        for row in rows { result[row["name"]] = SchemaObjectText(type: row["type"], table: row["tbl_name"], sql: row["sql"]) }
        return result
    }

    /// Throws when the objects the run depends on changed since the prepare.
    func check(_ db: Database) throws {
        let now = try Int.fetchOne(db, sql: "PRAGMA schema_version") ?? 0
        if now == seenVersion { return }
        let current = try Self.objects(db, tables: tables)
        guard current != expected else {
            if let seen = seenVersion, let table = renumberable.first {
                throw MigrationError(.schemaChangedDuringOnline,
                                     "the schema version moved during the online migration (\(seen) to \(now): a change elsewhere, or a VACUUM) and table \(table) has no INTEGER PRIMARY KEY, so a VACUUM may have renumbered the rowids the online copy follows its rows by",
                                     version: version, object: table)
            }
            seenVersion = now   // a change elsewhere, or none
            return
        }
        var changes: [String] = []
        for name in Set(current.keys).union(expected.keys).sorted() {
            switch (expected[name], current[name]) {
            case (nil, let added?): changes.append("\(added.type) \(name) was created on \(added.table)")
            case (let removed?, nil): changes.append("\(removed.type) \(name) on \(removed.table) was dropped")
            case (let before?, let after?) where before != after: changes.append("\(after.type) \(name) was changed")
            default: break
            }
        }
        let first = Set(current.keys).union(expected.keys).sorted().first { current[$0] != expected[$0] }
        throw MigrationError(.schemaChangedDuringOnline,
                             "the schema of the tables migration \(version) migrates changed during the online migration (\(changes.joined(separator: "; ")))",
                             version: version, object: first)
    }
}
