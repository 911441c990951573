import GRDB

/// The user-visible schema of a database: every object of `sqlite_master` except
/// SQLite's own (`sqlite_%`) and the tool's bookkeeping (its prefix, such as `vmdb_`).
package struct SchemaSnapshot: Sendable, Hashable, Codable {
    /// Objects in `sqlite_master` order (creation order), which recreation preserves.
    package let objects: [SchemaObject]

    package init(objects: [SchemaObject]) { self.objects = objects }

    /// - Parameter prefix: objects named with it (or on a table named with it) are
    ///   the tool's bookkeeping, left out; nil keeps every object but SQLite's own.
    package static func read(_ db: Database, excludingPrefix prefix: String? = nil) throws -> SchemaSnapshot {
        // The prefix is matched as bytes (substr), so `_` and `%` in it are literal.
        let rows = try Row.fetchAll(db, sql: """
            SELECT type, name, tbl_name, sql FROM sqlite_master
            WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
              AND (:prefix IS NULL OR (substr(name, 1, length(:prefix)) <> :prefix AND substr(tbl_name, 1, length(:prefix)) <> :prefix))
            ORDER BY rowid
            """, arguments: ["prefix": prefix])
        return SchemaSnapshot(objects: rows.map {
            SchemaObject(type: $0["type"], name: $0["name"], table: $0["tbl_name"], sql: $0["sql"])
        })
    }

    package var tables: [SchemaObject] { objects.filter { $0.type == "table" } }
    package var tableNames: [String] { tables.map(\.name) }

    package func object(named name: String) -> SchemaObject? {
        objects.first { $0.name.lowercased() == name.lowercased() }
    }

    /// Objects with SQL of their own (not automatic indexes), keyed by lowercased name.
    var namedObjects: [String: SchemaObject] {
        Dictionary(objects.filter { $0.sql != nil }.map { ($0.name.lowercased(), $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// What changed from `self` to `after`: added, removed and changed objects.
    package func difference(to after: SchemaSnapshot) -> SchemaDifference {
        let before = namedObjects, afterObjects = after.namedObjects
        var difference = SchemaDifference()
        for object in after.objects where object.sql != nil {
            if let old = before[object.name.lowercased()] {
                if old.normalizedSQL != object.normalizedSQL {
                    difference.changed.append(.init(type: object.type, name: object.name, before: old.sql, after: object.sql))
                }
            } else {
                difference.added.append(.init(type: object.type, name: object.name, before: nil, after: object.sql))
            }
        }
        for object in objects where object.sql != nil && afterObjects[object.name.lowercased()] == nil {
            difference.removed.append(.init(type: object.type, name: object.name, before: object.sql, after: nil))
        }
        return difference
    }
}

/// Objects added, removed and changed between two schemas, with their SQL.
public struct SchemaDifference: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public let type: String
        public let name: String
        public let before: String?
        public let after: String?
    }

    public var added: [Entry] = []
    public var removed: [Entry] = []
    public var changed: [Entry] = []

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }
}
