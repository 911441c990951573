import Foundation
import GRDB
import SQLiteFiles

extension Migrator {
    /// The exact SQL `migrate` would run, found by running it on an empty copy of the schema
    /// (the rehearsal, which also fires every trigger and reads every view afterwards).
    ///
    /// - Throws: ``MigrationError``: as ``migrate(path:options:)`` before it starts (`missingParameter`, `noSuchVersion`,
    ///   `versionBehind`, `schemaConflict` naming an object of the operator's, `rowsNotCarried`, …); nothing is written.
    public func plan(path: String, to version: Int? = nil, parameters: MigrationParameters = [:]) throws -> MigrationPlan {
        return try MigrationError.translatingFileErrors(path: path, doing: "planning") {
            let source = try DatabaseFile.open(path, access: .readOnly)
            let status = try source.read { try inspect($0, path: path) }
            try status.requireConsistentHistory()
            let target = try targetVersion(version, status: status)
            let pending = catalog.scripts.filter { $0.version > status.currentVersion && $0.version <= target }
            try source.read { db in try preflight(db, scripts: pending, parameters: parameters) }
            let (entries, notRehearsed) = try rehearse(source, status: status, scripts: pending, parameters: parameters)
            let names = Set(catalog.scripts.filter { $0.version > status.currentVersion && $0.version <= target }
                .flatMap { $0.definition.parameters.map(\.name) })
            return MigrationPlan(path: path, fromVersion: status.currentVersion, toVersion: target,
                                 baselinedVersion: status.isManaged ? nil : status.currentVersion,
                                 parameters: names.sorted(), migrations: entries, notRehearsed: notRehearsed.isEmpty ? nil : notRehearsed)
        }
    }

    /// An in-memory database with the same schema (and statistics) and no rows.
    ///
    /// - Parameter replayFailure: Called for an object this SQLite cannot create again here
    ///   (a collation of the deployer's app, a virtual table's module this build lacks), which
    ///   is then left out; nil: the error is thrown.
    func schemaClone(of source: DatabaseQueue, replayFailure: ((SchemaObject, DatabaseError) throws -> Void)? = nil) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        configuration.acceptOperatorSchemaAsSQLiteDoes()   // the operator's objects, replayed
        let clone = try DatabaseQueue(configuration: configuration)
        let (objects, applied, statistics) = try source.read { db -> ([SchemaObject], [AppliedMigration], [Row]) in
            let stat = try db.tableExists("sqlite_stat1") ? try Row.fetchAll(db, sql: "SELECT tbl, idx, stat FROM sqlite_stat1") : []
            // A virtual table (FTS5, R*Tree) creates its shadow tables itself: replaying
            // theirs too fails with "table … already exists".
            let shadows = Set(try String.fetchAll(db, sql: "SELECT name FROM pragma_table_list WHERE type = 'shadow'").map { $0.lowercased() })
            let objects = try readSchema(db).objects.filter { !shadows.contains($0.table.lowercased()) }
            return (objects, try history.read(db, toolVersion: toolVersion), stat)
        }
        try clone.writeWithoutTransaction { db in
            for object in objects {
                guard let sql = object.sql else { continue }
                do {
                    try db.execute(sql: sql)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_ERROR {
                    guard let replayFailure else { throw error }
                    try replayFailure(object, error)
                }
            }
            for entry in applied { try history.record(db, entry, log: nil) }
            if !statistics.isEmpty {
                try db.execute(sql: "ANALYZE")
                for row in statistics {
                    try db.execute(sql: "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", arguments: [row["tbl"], row["idx"], row["stat"]])
                }
            }
        }
        return clone
    }
}
