import GRDB

/// The tables a migration's statements wrote rows of, as SQLite reports each row
/// change (its update hook, through GRDB; it would report a trigger's or a cascade's
/// too, though the migrator runs with both off). Not reported: WITHOUT ROWID tables
/// and schema changes, which ``touched(_:before:after:)`` adds by other means.
final class WrittenTables: TransactionObserver {
    /// Lowercased table names.
    private(set) var names: Set<String> = []

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
    func databaseDidChange(with event: DatabaseEvent) { names.insert(event.tableName.lowercased()) }
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}

    /// The tables of `before` whose rows or schema the statements since `before` may
    /// have changed: rows written, a table or one of its indexes or triggers changed,
    /// and every WITHOUT ROWID table (whose row changes SQLite does not report).
    func touched(_ db: Database, before: SchemaSnapshot, after: SchemaSnapshot) throws -> Set<String> {
        var touched = names
        let afterObjects = Dictionary(after.objects.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        let beforeObjects = Dictionary(before.objects.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
        for object in before.objects where afterObjects[object.name.lowercased()]?.normalizedSQL != object.normalizedSQL {
            touched.insert(object.table.lowercased())
        }
        for object in after.objects where beforeObjects[object.name.lowercased()]?.normalizedSQL != object.normalizedSQL {
            touched.insert(object.table.lowercased())
        }
        for table in before.tables where !touched.contains(table.name.lowercased()) {
            // SQLite is the authority: a table it cannot select a rowid from has none.
            do {
                _ = try Row.fetchOne(db, sql: "SELECT rowid FROM \(table.name.quotedIdentifier) LIMIT 0")
            } catch {
                touched.insert(table.name.lowercased())
            }
        }
        return touched
    }
}
