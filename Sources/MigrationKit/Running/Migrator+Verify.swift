import Foundation
import GRDB
import SQLiteFiles

/// What `vmdb verify` found.
public struct VerifyReport: Sendable, Codable {
    public let path: String
    public let version: Int
    public let isManaged: Bool
    /// Differences between this schema and what the migrations produce at its version.
    public let drift: [String]
    /// Objects and columns an operator added: kept, and not drift.
    public let additions: [String]
    public let integrity: String
    public let foreignKeyViolations: [String]
    public let historyProblems: [String]
    /// Triggers that fail when fired and views that fail when read (each run once, rolled back).
    public let brokenObjects: [String]
    /// Why the triggers and views were not run, when they could not be (a read-only file).
    public let objectsNotProbed: String?

    public init(path: String, version: Int, isManaged: Bool, drift: [String], additions: [String], integrity: String,
                foreignKeyViolations: [String], historyProblems: [String], brokenObjects: [String], objectsNotProbed: String?) {
        self.path = path
        self.version = version
        self.isManaged = isManaged
        self.drift = drift
        self.additions = additions
        self.integrity = integrity
        self.foreignKeyViolations = foreignKeyViolations
        self.historyProblems = historyProblems
        self.brokenObjects = brokenObjects
        self.objectsNotProbed = objectsNotProbed
    }

    public var isClean: Bool {
        drift.isEmpty && integrity == "ok" && foreignKeyViolations.isEmpty && historyProblems.isEmpty && brokenObjects.isEmpty
    }
}

extension Migrator {
    /// Compares the schema with a fresh one at the same version, runs
    /// `integrity_check` and `foreign_key_check`, checks history checksums, and runs
    /// every trigger and view once on an in-memory copy of the schema (the file is never written).
    ///
    /// - Throws: ``MigrationError``: `noSuchDatabase`, `notADatabase`, `newerDatabase`, `locked`, `ioError`. Drift,
    ///   integrity problems and broken triggers or views are reported in the ``VerifyReport``, not thrown.
    public func verify(path: String) throws -> VerifyReport {
        return try MigrationError.translatingFileErrors(path: path, doing: "verifying") {
            let queue = try DatabaseFile.open(path, access: .readOnly)
            let (broken, notProbed) = try probeKeptObjects(queue)
            return try queue.read { db in
                let status = try inspect(db, path: path)
                try status.requireConsistentHistory()
                let reference = try referenceDatabase(version: status.currentVersion).read { try readSchema($0) }
                let actual = try readSchema(db)
                let comparison = try SchemaComparison(reference: reference, actual: actual)
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
                let foreignKeys = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").prefix(20).map {
                    "\($0[0] as String? ?? "?") row \($0[1] as Int64? ?? 0) -> \($0[2] as String? ?? "?")"
                }
                return VerifyReport(
                    path: path, version: status.currentVersion, isManaged: status.isManaged,
                    drift: comparison.drift, additions: comparison.additions,
                    integrity: integrity.isEmpty ? "ok" : integrity.prefix(20).joined(separator: "; "),
                    foreignKeyViolations: foreignKeys,
                    historyProblems: status.isManaged ? [] : ["no history table: the version was inferred from the schema; migrating records it (a baseline)"],
                    brokenObjects: broken, objectsNotProbed: notProbed)
            }
        }
    }

    /// Fires every trigger and reads every view on a schema-only copy of `queue`'s database,
    /// in memory: the broken ones, or why none was run. Never on the file itself: verify
    /// writes nothing, and a savepoint there is no guarantee (on a damaged page its
    /// `ROLLBACK TO` can fail, and the `RELEASE` after it commits what the probe did).
    private func probeKeptObjects(_ queue: DatabaseQueue) throws -> (broken: [String], notProbed: String?) {
        let clone: DatabaseQueue
        do {
            clone = try schemaClone(of: queue)
        } catch let error as DatabaseError where ![.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR].contains(error.resultCode) {
            return ([], "not run: the schema could not be copied to run them on (\(error.message ?? "\(error.resultCode)"))")
        }
        return try clone.writeWithoutTransaction { db in
            let objects = KeptObjectProbe.objects(try readSchema(db), excludingPrefix: configuration.bookkeepingPrefix)
            return (try KeptObjectProbe.run(db, objects: objects).map(\.description), nil)
        }
    }
}

/// A schema compared with a reference (a fresh install at the same version):
/// every reference object must be present with the same SQL; objects and
/// columns an operator added are listed apart, as additions.
public struct SchemaComparison: Sendable {
    public private(set) var drift: [String] = []
    public private(set) var additions: [String] = []

    package init(reference: SchemaSnapshot, actual: SchemaSnapshot) throws {
        let actualObjects = actual.namedObjects
        let referenceObjects = reference.namedObjects
        for object in reference.objects where object.sql != nil {
            guard let found = actualObjects[object.name.lowercased()] else {
                drift.append("\(object.type) \(object.name) is missing; expected: \(object.sql ?? "")")
                continue
            }
            guard found.type == object.type else {
                drift.append("\(object.name) is a \(found.type), expected a \(object.type)")
                continue
            }
            if found.normalizedSQL == object.normalizedSQL { continue }
            if object.type == "table", let found = found.sql, let expected = object.sql {
                // A table may carry columns an operator added; compare without them.
                let actualTable = try CreateTableStatement(sql: found)
                let expectedTable = try CreateTableStatement(sql: expected)
                let extras = actualTable.columns.filter { expectedTable.column(named: $0.name) == nil }
                let stripped = try CreateTableStatement(sql: actualTable.sql(removingColumns: extras.map(\.name)))
                if SchemaObject(type: "table", name: object.name, table: object.table, sql: stripped.sql(renamedTo: object.name)).normalizedSQL
                    == SchemaObject(type: "table", name: object.name, table: object.table, sql: expectedTable.sql(renamedTo: object.name)).normalizedSQL {
                    additions += extras.map { "column \(object.name).\($0.name): \($0.definition)" }
                    continue
                }
            }
            drift.append("\(object.type) \(object.name) differs:\n  expected: \(object.sql ?? "")\n  found:    \(found.sql ?? "")")
        }
        for object in actual.objects where object.sql != nil && referenceObjects[object.name.lowercased()] == nil {
            additions.append("\(object.type) \(object.name)")
        }
    }
}
