import ContentHash
import Foundation
import MigrationKit
import PostgresAccess
import PostgresNIO

/// One consistent view of a database: a REPEATABLE READ transaction whose snapshot is
/// exported, so pg_dump (`--snapshot`) copies exactly the rows this transaction counts
/// and hashes, while the deployer keeps writing.
struct PostgresSnapshot {
    let session: PostgresSession

    /// Runs `body` with the exported snapshot's name, inside the transaction that holds it.
    func withExported<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        try await session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let name = try await session.values(PostgresQuery(unsafeSQL: "SELECT pg_export_snapshot()"), as: String.self).first ?? ""
            let result = try await body(name)
            try await session.execute("COMMIT")
            return result
        } catch {
            try? await session.execute("ROLLBACK")
            throw error
        }
    }

    /// The newest version the history records, in the transaction's snapshot.
    func schemaVersion(_ configuration: MigratorConfiguration) async throws -> Int {
        try await PostgresHistory(configuration).read(session).last?.version ?? 0
    }

    /// Every ordinary table of the current schema (the history included): rows and content hash.
    func tables() async throws -> [PostgresBackupRecord.Table] {
        let names = try await session.values(PostgresQuery(unsafeSQL: """
            SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname
            """), as: String.self)
        var tables: [PostgresBackupRecord.Table] = []
        for name in names {
            do {
                let content = try await PostgresContentHasher.hashAllColumns(session.connection, table: name, logger: session.logger)
                tables.append(.init(name: name, rows: content.rows, contentHash: content.hash))
            } catch is PostgresContentHashError {
                let rows = try await session.values(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(PostgresIdentifier.quoted(name))"), as: Int64.self)
                tables.append(.init(name: name, rows: Int(rows.first ?? 0), contentHash: nil))
            } catch {
                throw session.translate(error)
            }
        }
        return tables
    }
}
