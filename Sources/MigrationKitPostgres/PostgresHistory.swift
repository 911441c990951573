import Foundation
import MigrationKit
import PostgresNIO

/// The history table on PostgreSQL: the same columns and meaning as SQLite's (one
/// row per applied migration, written in the migration's own transaction), in
/// PostgreSQL's types; the verification record is the same JSON, as text.
struct PostgresHistory {
    let table: String

    init(_ configuration: MigratorConfiguration) { table = configuration.historyTable }

    func create(_ session: PostgresSession) async throws {
        try await session.execute("""
            CREATE TABLE IF NOT EXISTS \(PostgresIdentifier.quoted(table)) (
                version       integer PRIMARY KEY,
                name          text NOT NULL,
                checksum      text NOT NULL,
                applied_at    text NOT NULL,
                duration_ms   bigint NOT NULL,
                lock_ms       bigint NOT NULL,
                tool_version  text NOT NULL,
                kind          text NOT NULL CHECK (kind IN ('applied', 'baseline')),
                verification  text,
                backup_sha256 text,
                store_compatible_from integer CHECK (store_compatible_from > 0)
            )
            """)
    }

    /// Every row, in version order (none when there is no history table yet).
    func read(_ session: PostgresSession) async throws -> [AppliedMigration] {
        let exists = try await session.values(PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL", binds: Self.bind(PostgresIdentifier.quoted(table))), as: Bool.self)
        guard exists.first == true else { return [] }
        let query = PostgresQuery(unsafeSQL: """
            SELECT version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind, verification, store_compatible_from
            FROM \(PostgresIdentifier.quoted(table)) ORDER BY version
            """)
        let decoder = JSONDecoder()
        var rows: [AppliedMigration] = []
        for try await (version, name, checksum, appliedAt, duration, lock, tool, kind, verification, compatible)
                in try await session.rows(query).decode((Int, String, String, String, Int64, Int64, String, String, String?, Int?).self) {
            guard kind == "applied" else {
                throw MigrationError(.inconsistentHistory, "the history row of migration \(version) on \(session.location) has kind '\(kind)', which PostgreSQL's history never holds: the history table was edited by hand. Nothing was changed", version: version)
            }
            let record: VerificationRecord?
            do {
                record = try verification.map { try decoder.decode(VerificationRecord.self, from: Data($0.utf8)) }
            } catch {
                throw MigrationError(.inconsistentHistory, "the history row of migration \(version) on \(session.location) holds a verification record this version cannot read: the history table was edited by hand. Nothing was changed", version: version)
            }
            rows.append(AppliedMigration(version: version, name: name, checksum: checksum, appliedAt: appliedAt,
                                         durationMilliseconds: Int(duration), lockMilliseconds: Int(lock), toolVersion: tool,
                                         verification: record, keepsStoreCompatibleFrom: compatible))
        }
        return rows
    }

    /// The migration's row, in its transaction.
    func record(_ row: AppliedMigration, _ session: PostgresSession) async throws {
        var bindings = PostgresBindings()
        bindings.append(row.version)
        bindings.append(row.name)
        bindings.append(row.checksum)
        bindings.append(row.appliedAt)
        bindings.append(Int64(row.durationMilliseconds))
        bindings.append(Int64(row.lockMilliseconds))
        bindings.append(row.toolVersion)
        bindings.append(row.kind.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        bindings.append(try row.verification.map { String(decoding: try encoder.encode($0), as: UTF8.self) })
        bindings.append(row.keepsStoreCompatibleFrom)
        try await session.run(PostgresQuery(unsafeSQL: Self.insertSQL(table: table), binds: bindings))
    }

    /// The history row's INSERT, its values bound ($1 … $10).
    static func insertSQL(table: String) -> String {
        """
        INSERT INTO \(PostgresIdentifier.quoted(table)) \
        (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind, verification, store_compatible_from) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """
    }

    private static func bind(_ value: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(value)
        return bindings
    }
}
