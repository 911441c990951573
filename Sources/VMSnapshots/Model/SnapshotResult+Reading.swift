import GRDB
import MigrationKit
import SQLiteFiles

extension SnapshotResult {
    /// Reads what a migrated database holds, with what the run and `verify` reported.
    static func read(path: String, run: MigrationRunReport, verify: VerifyReport, bookkeepingPrefix: String) throws -> SnapshotResult {
        let queue = try DatabaseFile.open(path, access: .readOnly)
        defer { try? queue.close() }
        return try queue.read { db in
            let schema = try SchemaSnapshot.read(db, excludingPrefix: bookkeepingPrefix)
            var tables: [String: Table] = [:]
            for table in schema.tables where !(table.sql ?? "").uppercased().hasPrefix("CREATE VIRTUAL") {
                let content = try ContentHasher.hashAllColumns(db, table: table.name)
                var perNetwork: [String: Int]?
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_xinfo(?)", arguments: [table.name])
                if columns.contains(where: { $0.lowercased() == "network" }) {
                    let rows = try Row.fetchAll(db, sql: "SELECT network, count(*) AS n FROM \(table.name.quotedIdentifier) GROUP BY network")
                    perNetwork = Dictionary(rows.map { (($0["network"] as String?) ?? "<null>", $0["n"] as Int) }, uniquingKeysWith: +)
                }
                tables[table.name] = Table(rows: content.rows, contentHash: content.hash, rowsPerNetwork: perNetwork)
            }
            let history = try db.tableExists("vmdb_migrations")
                ? try Row.fetchAll(db, sql: "SELECT version, name, kind FROM vmdb_migrations ORDER BY version").map {
                    HistoryEntry(version: $0["version"], name: $0["name"], kind: $0["kind"])
                }
                : []
            return SnapshotResult(
                version: run.toVersion,
                baselinedVersion: run.baselinedVersion,
                history: history,
                tables: tables,
                schema: schema.objects.map { SchemaEntry(type: $0.type, name: $0.name, table: $0.table, sql: $0.sql) },
                operatorAdditions: verify.additions,
                migrations: run.migrations.map(Migration.init))
        }
    }
}

extension SnapshotResult.Migration {
    init(_ result: MigrationResult) {
        let record = result.verification
        self.init(
            version: result.version, name: result.name,
            tables: Dictionary(record.tables.map {
                ($0.table, SnapshotResult.Census(rowsBefore: $0.rowsBefore, rowsAfter: $0.rowsAfter, hashBefore: $0.hashBefore, hashAfter: $0.hashAfter))
            }, uniquingKeysWith: { a, _ in a }),
            restoredObjects: record.restoredObjects,
            carriedColumns: record.carriedColumns)
    }
}
