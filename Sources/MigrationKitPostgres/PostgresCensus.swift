import ContentHash
import MigrationKit
import PostgresNIO

/// The census on PostgreSQL, as SQLite's `CensusPlan` makes it: per table the migration
/// keeps, its columns in name order, hashed before the migration (an expected column's
/// declared expression, evaluated on the old row) and after it (the column itself).
struct PostgresCensus {
    struct Plan {
        let table: String
        let columns: [String]
        let before: [String]
        let after: [String]
    }

    let session: PostgresSession
    let definition: MigrationDefinition
    let parameters: MigrationParameters
    let level: VerificationLevel
    /// The tool's bookkeeping tables (its history), never counted.
    let excludingPrefix: String

    /// The ordinary tables of the current schema, the bookkeeping left out.
    func tables() async throws -> [String] {
        try await Self.tables(session, excludingPrefix: excludingPrefix)
    }

    static func tables(_ session: PostgresSession, excludingPrefix: String) async throws -> [String] {
        var bindings = PostgresBindings()
        bindings.append(excludingPrefix)
        return try await session.values(PostgresQuery(unsafeSQL: """
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND substr(c.relname, 1, length($1)) <> $1
            ORDER BY c.relname
            """, binds: bindings), as: String.self)
    }

    func plans() async throws -> [Plan] {
        var plans: [Plan] = []
        for table in try await tables() where !definition.isDropped("table", table) {
            var columns = try await PostgresContentHasher.columnNames(session.connection, table: table, logger: session.logger)
                .filter { !definition.isDropped("column", "\(table).\($0)") }
            let expectations = definition.expectations.filter { $0.table.lowercased() == table.lowercased() }
            for expectation in expectations where !columns.contains(where: { $0.lowercased() == expectation.column.lowercased() }) {
                columns.append(expectation.column)
            }
            columns.sort()
            let before = columns.map { column in
                expectations.first { $0.column.lowercased() == column.lowercased() }.map { "(\($0.expression))" } ?? PostgresIdentifier.quoted(column)
            }
            plans.append(Plan(table: table, columns: columns, before: before, after: columns.map(PostgresIdentifier.quoted)))
        }
        return plans
    }

    /// Rows and hash of `expressions` over `table` (counts only at that level), with the migration's parameters bound.
    func take(_ table: String, _ expressions: [String]) async throws -> ContentDigest.Result {
        let sql = PostgresContentHasher.selectSQL(table: table, expressions: level == .counts ? [] : expressions)
        let statement = PostgresScript(sql).statements[0]
        do {
            return try await PostgresContentHasher.hash(session.connection, query: session.query(statement, parameters),
                                                        table: table, labels: nil, logger: session.logger)
        } catch let error as PostgresContentHashError {
            throw MigrationError(.unexpectedFailure, "\(session.location): \(error)", version: session.version)
        } catch {
            throw session.translate(error)
        }
    }
}
