import Foundation
import Logging
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import Testing
import VMDBTestSupport

/// MigrationKit's contract on the real PostgreSQL server: versions applied in order,
/// each in one transaction verified before COMMIT (census, expectations, invariants,
/// probes) and recorded in the history; a failure anywhere leaves the database as it
/// was, DDL included; a second migrator is refused at once; an edited history is refused.
@Suite struct PostgresMigratorTests {
    static let v1 = """
        --! step
        CREATE TABLE vms (
            id      bigserial PRIMARY KEY,
            vm_id   text NOT NULL UNIQUE,
            network text,
            name    text NOT NULL
        );
        """

    /// The identity change, PostgreSQL's way: in place, in one transaction.
    static let v2 = """
        --! parameter default_network (VM(s) have no network): SELECT count(*) FROM vms WHERE network IS NULL OR network = ''
        --! expect vms.network: CASE WHEN network IS NULL OR network = '' THEN :default_network ELSE network END
        --! expect vms.origin: 'provision'
        --! invariant every VM has a network: SELECT count(*) FROM vms WHERE network IS NULL OR network = ''
        --! probe accepts the same vm_id on two networks: INSERT INTO vms (vm_id, network, name) VALUES ('p', 'a', 'p'); INSERT INTO vms (vm_id, network, name) VALUES ('p', 'b', 'p')
        --! probe rejects a pair twice: INSERT INTO vms (vm_id, network, name) VALUES ('p', 'a', 'p'); INSERT INTO vms (vm_id, network, name) VALUES ('p', 'a', 'q')
        --! step
        UPDATE vms SET network = :default_network WHERE network IS NULL OR network = '';
        ALTER TABLE vms ADD COLUMN origin text NOT NULL DEFAULT 'provision';
        ALTER TABLE vms ALTER COLUMN network SET NOT NULL, ADD CONSTRAINT vms_network_not_empty CHECK (network <> '');
        ALTER TABLE vms DROP CONSTRAINT vms_vm_id_key, ADD CONSTRAINT vms_identity UNIQUE (network, vm_id);
        """

    static func migrator(v2: String = v2) throws -> PostgresMigrator {
        PostgresMigrator(catalog: try MigrationCatalog(files: [("0001_initial.sql", v1), ("0002_identity.sql", v2)]),
                         toolVersion: "test", configuration: MigratorConfiguration(historyTable: "vmdb_migrations", bookkeepingPrefix: "vmdb_"))
    }

    /// A v1 database with four VMs, two without a network.
    static func atVersion1(_ database: ScratchDatabase, _ migrator: PostgresMigrator) async throws {
        _ = try await migrator.migrate(database.location, to: 1)
        try await database.execute("INSERT INTO vms (vm_id, network, name) VALUES ('005o', 'main', 'a'), ('005a', NULL, 'b'), ('0069', '', 'c'), ('00b2', 'qa', 'd')")
    }

    @Test func versionsApplyInOrderVerifiedAndRecorded() async throws {
        try await ScratchDatabase.with { database in
            let migrator = try Self.migrator()
            try await Self.atVersion1(database, migrator)
            let recorded = try await migrator.migrate(database.location, parameters: ["default_network": "dev"])
            #expect(recorded.map(\.version) == [2])
            let record = try #require(recorded.first?.verification)
            #expect(record.passed && record.tables.map(\.table) == ["vms"] && record.tables.first?.rowsAfter == 4, "\(record)")
            #expect(record.invariants.first?.violations == 0 && record.probes?.allSatisfy(\.passed) == true)
            let history = try await migrator.history(database.location)
            #expect(history.map(\.version) == [1, 2])
            #expect(history.map(\.checksum) == migrator.catalog.scripts.map(\.checksum))
            #expect(history.last?.verification == record, "the history keeps the record as verified")
            let networks = try await database.strings("SELECT network || '/' || vm_id FROM vms ORDER BY id")
            #expect(networks == ["main/005o", "dev/005a", "dev/0069", "qa/00b2"])
            // The pair is the identity now: the same vm_id on another network is a new VM.
            try await database.execute("INSERT INTO vms (vm_id, network, name) VALUES ('005o', 'qa', 'e')")
            #expect(try await migrator.migrate(database.location).isEmpty, "nothing left to do")
        }
    }

    @Test func aParameterTheDataNeedsIsAskedForAndNothingChanges() async throws {
        try await ScratchDatabase.with { database in
            let migrator = try Self.migrator()
            try await Self.atVersion1(database, migrator)
            let error = await #expect(throws: MigrationError.self) { _ = try await migrator.migrate(database.location) }
            #expect(error?.code == .missingParameter && error?.parameter == "default_network", "\(String(describing: error))")
            #expect(try await migrator.history(database.location).map(\.version) == [1])
            #expect(try await database.strings("SELECT coalesce(network, 'NULL') FROM vms ORDER BY id") == ["main", "NULL", "", "qa"])
        }
    }

    @Test func aFailedVerificationRollsBackTheDDLToo() async throws {
        try await ScratchDatabase.with { database in
            // An undeclared change to the names: the census sees it; the ALTERs go with the rollback.
            let migrator = try Self.migrator(v2: Self.v2 + "\nUPDATE vms SET name = name || '!' WHERE vm_id = '00b2';\n")
            try await Self.atVersion1(database, migrator)
            let error = await #expect(throws: MigrationError.self) {
                _ = try await migrator.migrate(database.location, parameters: ["default_network": "dev"])
            }
            #expect(error?.code == .failedVerification && error?.kind == .verificationFailed)
            #expect(error?.verification?.failures.contains { $0.hasPrefix("table vms: content of columns") } == true, "\(error?.verification?.failures ?? [])")
            #expect(try await migrator.history(database.location).map(\.version) == [1])
            #expect(try await database.strings("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'vms' ORDER BY column_name")
                == ["id", "name", "network", "vm_id"], "origin was added and must be gone")
            #expect(try await database.strings("SELECT conname::text FROM pg_constraint WHERE conrelid = 'vms'::regclass AND contype = 'u'") == ["vms_vm_id_key"])
            #expect(!"\(error!)".contains(database.password), "the password is never in a message")
        }
    }

    @Test func aSecondMigratorIsRefusedAtOnce() async throws {
        try await ScratchDatabase.with { database in
            let migrator = try Self.migrator()
            try await database.withConnection { holder in
                // Another migrator's session holds the lock.
                _ = try await holder.query("SELECT pg_advisory_lock(hashtext(\("vmdb_migrations")))", logger: Logger(label: "test")).collect()
                let started = Date()
                let error = await #expect(throws: MigrationError.self) { _ = try await migrator.migrate(database.location) }
                #expect(error?.code == .migratorRunning && error?.kind == .busy, "\(String(describing: error))")
                #expect(Date().timeIntervalSince(started) < 5, "refused at once, not after waiting")
            }
            #expect(try await database.strings("SELECT to_regclass('vms')::text").first == nil, "nothing was applied")
            #expect(try await migrator.migrate(database.location, to: 1).map(\.version) == [1], "free once the holder is gone")
        }
    }

    @Test func anEditedHistoryIsRefused() async throws {
        try await ScratchDatabase.with { database in
            let migrator = try Self.migrator()
            _ = try await migrator.migrate(database.location, to: 1)
            try await database.execute("UPDATE vmdb_migrations SET checksum = 'edited' WHERE version = 1")
            let error = await #expect(throws: MigrationError.self) { _ = try await migrator.migrate(database.location, parameters: ["default_network": "dev"]) }
            #expect(error?.code == .inconsistentHistory && error?.kind == .historyInconsistent)
            #expect(try await database.strings("SELECT version::text FROM vmdb_migrations") == ["1"])
        }
    }
}
