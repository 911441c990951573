import Foundation
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import ShippedMigrations
import Testing
import VMDBTestSupport

/// The shipped versions' PostgreSQL forms: the same versions and names as SQLite's, and
/// on the real server v1 → v4 with a v1 deployer's rows (two networks' VMs could not
/// exist yet) ends where SQLite's migrations end: the pair is the identity, events
/// follow their VM by the pair, every check, probe and history row in place.
@Suite struct ShippedPostgresMigrationsTests {
    static var migrator: PostgresMigrator {
        PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "test", configuration: ShippedMigrations.configuration)
    }

    @Test func theFormsAreTheSameVersionsUnderTheSameNames() throws {
        let sqlite = ShippedMigrations.catalog.scripts.map { "\($0.version) \($0.name)" }
        #expect(ShippedMigrations.postgresCatalog.scripts.map { "\($0.version) \($0.name)" } == sqlite)
        #expect(ShippedMigrations.postgresCatalog.scripts.allSatisfy { $0.definition.recreations.isEmpty }, "PostgreSQL alters in place")
        // The embedded copy is the folder's, and the sums file agrees.
        let folder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("migrations/postgres")
        for script in ShippedMigrations.postgresCatalog.scripts {
            let text = try String(contentsOfFile: (folder as NSString).appendingPathComponent(script.fileName), encoding: .utf8)
            #expect(try MigrationScript(fileName: script.fileName, text: text).checksum == script.checksum, "\(script.fileName)")
        }
        let sums = try String(contentsOfFile: (folder as NSString).appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        #expect(sums.split(separator: "\n").map { String($0.split(separator: " ").first ?? "") } == ShippedMigrations.postgresCatalog.scripts.map(\.checksum))
    }

    @Test func v1ToV4OnTheServerEndsAtTheIdentity() async throws {
        try await ScratchDatabase.with { database in
            let migrator = Self.migrator
            _ = try await migrator.migrate(database.location, to: 1)
            try await database.execute("""
                INSERT INTO vms (vm_id, name, created_at, updated_at) VALUES ('005o', 'a', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), ('0069', 'b', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
                INSERT INTO vm_events (vm_id, kind, at) VALUES ('005o', 'created', '2026-01-01T00:00:00Z'), ('0069', 'created', '2026-01-01T00:00:00Z')
                """)
            let recorded = try await migrator.migrate(database.location, parameters: ["default_network": "main"])
            #expect(recorded.map(\.version) == [2, 3, 4])
            #expect(recorded.allSatisfy { $0.verification?.passed == true }, "\(recorded.map { $0.verification?.failures ?? [] })")
            #expect(recorded.first { $0.version == 3 }?.verification?.probes?.count == 3)
            #expect(recorded.last?.keepsStoreCompatibleFrom == 3)
            let history = try await migrator.history(database.location)
            #expect(history.map(\.checksum) == ShippedMigrations.postgresCatalog.scripts.map(\.checksum))
            // The pair is the identity; events follow their VM by it.
            try await database.execute("""
                INSERT INTO vms (vm_id, network, name, created_at, updated_at) VALUES ('005o', 'qa', 'c', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z');
                INSERT INTO vm_events (vm_id, network, kind, at) VALUES ('005o', 'qa', 'created', '2026-01-02T00:00:00Z');
                DELETE FROM vms WHERE network = 'main' AND vm_id = '005o'
                """)
            #expect(try await database.strings("SELECT network || '/' || vm_id FROM vm_events ORDER BY id") == ["main/0069", "qa/005o"])
            let duplicate = await #expect(throws: (any Error).self) {
                try await database.execute("INSERT INTO vms (vm_id, network, name, created_at, updated_at) VALUES ('005o', 'qa', 'd', 'x', 'x')")
            }
            guard case .server(_, let sqlState, _) = duplicate as? PostgresConnectionError else { Issue.record("\(String(describing: duplicate))"); return }
            #expect(sqlState == "23505", "a unique violation: the pair refused twice")
            #expect(try await database.strings("SELECT conname::text FROM pg_constraint WHERE conrelid = 'vms'::regclass AND contype = 'u'") == ["vms_identity"])
            #expect(try await database.strings("SELECT indexname::text FROM pg_indexes WHERE tablename IN ('vm_events', 'vm_repairs', 'provision_intents') ORDER BY indexname")
                == ["provision_intents_open", "provision_intents_pkey", "provision_intents_request", "vm_events_pkey", "vm_events_vm", "vm_repairs_pkey", "vm_repairs_vm"])
        }
    }
}
