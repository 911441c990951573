import Foundation
import MigrationKit
import MigrationKitPostgres
import ShippedMigrations

/// A database at v2 with VMs on two networks and their events, by the shipped PostgreSQL forms:
/// what the backup, restore and dry run tests start from.
enum PostgresBackupFixture {
    static var migrator: PostgresMigrator {
        var migrator = PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "test", configuration: ShippedMigrations.configuration)
        migrator.lockTimeoutMilliseconds = 500
        return migrator
    }

    static func atVersion2(_ database: ScratchDatabase) async throws {
        _ = try await migrator.migrate(database.location, to: 2, parameters: ["default_network": "main"])
        try await database.execute("""
            INSERT INTO vms (vm_id, network, name, created_at, updated_at) SELECT lpad(to_hex(n), 4, '0'), CASE WHEN n % 3 = 0 THEN 'qa' ELSE 'main' END, 'vm' || n, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM generate_series(1, 50) n;
            INSERT INTO vm_events (vm_id, kind, at) SELECT vm_id, 'created', created_at FROM vms
            """)
    }

    /// Every table's rows, as text in a stable order, and the history: what "unchanged" compares.
    static func content(_ database: ScratchDatabase) async throws -> [String] {
        try await database.strings("""
            SELECT c.relname || ': ' || coalesce((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', c.relname), false, true, '')))[1]::text, '?')
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY c.relname
            """) + database.strings("SELECT version || ' ' || checksum FROM vmdb_migrations ORDER BY version")
            + database.strings("SELECT string_agg(network || '/' || vm_id || '/' || name, ',' ORDER BY network, vm_id) FROM vms")
    }

    /// The schema as the catalog has it: columns, constraints and indexes of the current schema.
    static func schema(_ database: ScratchDatabase) async throws -> [String] {
        try await database.strings("""
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
            WHERE table_schema = current_schema() ORDER BY 1
            """) + database.strings("""
            SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint
            WHERE connamespace = current_schema()::regnamespace ORDER BY 1
            """) + database.strings("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1")
    }
}
