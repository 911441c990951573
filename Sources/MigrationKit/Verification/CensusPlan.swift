import GRDB

/// What the census hashes for one table: the same columns before and after,
/// where an expected column's before-value is the migration's expression
/// (`--! expect vms.network: …`), evaluated on the old row.
struct CensusPlan {
    let table: String
    let columns: [String]
    /// Select expressions over the table as it was before the migration.
    let before: [String]
    /// Select expressions over the table after it.
    let after: [String]

    /// One plan per ordinary table of `schema` the migration keeps (virtual tables and
    /// declared drops left out), or only for `tables` when given.
    static func plans(_ db: Database, schema: SchemaSnapshot, definition: MigrationDefinition,
                      tables only: [String]? = nil) throws -> [CensusPlan] {
        var plans: [CensusPlan] = []
        let wanted = only.map { Set($0.map { $0.lowercased() }) }
        for table in schema.tables where !(table.sql ?? "").uppercased().hasPrefix("CREATE VIRTUAL") {
            if definition.isDropped("table", table.name) { continue }
            if let wanted, !wanted.contains(table.name.lowercased()) { continue }
            // table_xinfo: hidden 0 = ordinary; generated columns are derived, so not hashed.
            let rows = try Row.fetchAll(db, sql: "SELECT name, hidden FROM pragma_table_xinfo(?)", arguments: [table.name])
            var columns = rows.filter { ($0["hidden"] as Int) == 0 }.map { $0["name"] as String }
                .filter { !definition.isDropped("column", "\(table.name).\($0)") }
            let expectations = definition.expectations.filter { $0.table.lowercased() == table.name.lowercased() }
            for expectation in expectations where !columns.contains(where: { $0.lowercased() == expectation.column.lowercased() }) {
                columns.append(expectation.column)
            }
            columns.sort()
            let before = columns.map { column in
                expectations.first { $0.column.lowercased() == column.lowercased() }.map { "(\($0.expression))" } ?? column.quotedIdentifier
            }
            plans.append(CensusPlan(table: table.name, columns: columns, before: before, after: columns.map(\.quotedIdentifier)))
        }
        return plans
    }
}
