import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBCommands
import VMDBTestSupport

/// Objects an operator added (issue 22), in the shapes the ORMs and migration tools make
/// them (Rails, Knex, Prisma, drizzle, TypeORM, Laravel, Ecto), meeting the new schema:
/// each is refused before anything changes, by name, alike by plan, dry run and migrate;
/// or it migrates and still works afterwards, checked by firing it.
extension OperatorSchemaTests {
    // MARK: Class 7: unique indexes that contradict the new identity

    /// A unique index on vm_id alone as each tool writes it: drizzle's `uniqueIndex(…).on(vms.vmId)`
    /// and Knex's and Laravel's `unique()` (`vms_vm_id_unique`), Prisma's `@unique` (`vms_vm_id_key`),
    /// Rails' `add_index … unique: true`, Ecto's `unique_index`, TypeORM's `@Index({ unique: true })`.
    static let uniqueIndexesOnVMID: [(name: String, sql: String)] = [
        ("vms_vm_id_unique", "CREATE UNIQUE INDEX vms_vm_id_unique ON vms (vm_id)"),
        ("vms_vm_id_key", "CREATE UNIQUE INDEX \"vms_vm_id_key\" ON \"vms\"(\"vm_id\")"),
        ("index_vms_on_vm_id", "CREATE UNIQUE INDEX \"index_vms_on_vm_id\" ON \"vms\" (\"vm_id\")"),
        ("vms_vm_id_index", "CREATE UNIQUE INDEX \"vms_vm_id_index\" ON \"vms\" (\"vm_id\")"),
        ("IDX_3f1c2b5e8a7d", "CREATE UNIQUE INDEX \"IDX_3f1c2b5e8a7d\" ON \"vms\" (\"vm_id\") "),
    ]

    @Test(arguments: uniqueIndexesOnVMID.map { $0.sql })
    func aUniqueIndexOnVMIDAloneIsRefusedBeforeAnythingRuns(_ index: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, index)
        let name = try #require(Self.uniqueIndexesOnVMID.first { $0.sql == index }?.name)
        try await expectRefused(path, saying: ["index \(name)", "DROP INDEX"])
        let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.plan(path: path) }
        #expect(error.code == .schemaConflict && error.object == name && error.version == 3)
    }

    // MARK: Class 8: triggers and views the new schema breaks, or keeps working

    /// Rails' and Laravel's audit pattern: an event row per status change, naming the columns it knew.
    static let statusLogTrigger = """
        CREATE TRIGGER vms_status_log AFTER UPDATE OF status ON vms WHEN OLD.status IS NOT NEW.status
        BEGIN INSERT INTO vm_events (vm_id, kind, at, detail) VALUES (NEW.vm_id, 'status', '2026-01-01T00:00:00Z', NEW.status); END
        """

    @Test func aTriggerInsertingAnEventWithoutItsNetworkIsRefusedByName() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, Self.statusLogTrigger)
        try await expectRefused(path, saying: ["trigger vms_status_log", "NOT NULL constraint failed: vm_events.network", "DROP TRIGGER"])
        let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.plan(path: path) }
        #expect(error.code == .schemaConflict && error.object == "vms_status_log" && error.version == 3)
        // It worked on v2, where it was written: the refusal is about the migration.
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "UPDATE vms SET status = 'stopped' WHERE vm_id = '005o'") }
    }

    @Test func theSameTriggerOnAV1FileIsRefusedAtTheMigrationThatBreaksIt() async throws {
        let directory = try TemporaryDirectory()
        let path = try v1(directory, Self.statusLogTrigger)
        let before = try Fixtures.fileHash(path)
        for arguments in [["plan"], ["migrate", "--dry-run"], ["migrate"]] {
            let result = await run(arguments + ["--db", path, "--default-network", "qa"])
            #expect(result.code == 65, "\(arguments): \(result.err)")
            let said = result.err + result.out
            #expect(said.contains("after migration 3") && said.contains("vms_status_log"), "\(arguments): \(said)")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }

    /// Ecto's and Knex's `updated_at` touch trigger, TypeORM's view: they migrate and still work.
    @Test func aTouchTriggerAnAuditTableAndAViewMigrateAndStillWork() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE TRIGGER vms_touch AFTER UPDATE OF status ON vms BEGIN UPDATE vms SET updated_at = 'touched' WHERE id = NEW.id; END;
            CREATE TABLE vm_audit (vm_id TEXT NOT NULL, network TEXT, kind TEXT NOT NULL);
            CREATE TRIGGER vms_deleted AFTER DELETE ON vms BEGIN INSERT INTO vm_audit VALUES (OLD.vm_id, OLD.network, 'deleted'); END;
            CREATE VIEW vm_event_counts AS SELECT v.vm_id, count(e.id) AS events FROM vms v LEFT JOIN vm_events e ON e.vm_id = v.vm_id GROUP BY v.id;
            """)
        await expectMigrates(path)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE vms SET status = 'stopped' WHERE vm_id = '005o'")
            #expect(try String.fetchOne(db, sql: "SELECT updated_at FROM vms WHERE vm_id = '005o'") == "touched")
            try db.execute(sql: "DELETE FROM vms WHERE vm_id = '0069'")
            #expect(try String.fetchOne(db, sql: "SELECT network FROM vm_audit WHERE vm_id = '0069'") == "qa")
            #expect(try Int.fetchOne(db, sql: "SELECT events FROM vm_event_counts WHERE vm_id = '005o'") == 1)
        }
    }

    /// A trigger rewritten as the refusal asks (its INSERT gives the network, from the VM) migrates and fires.
    @Test func theTriggerRewrittenForTheNewSchemaMigratesAndFires() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, Self.statusLogTrigger)
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "DROP TRIGGER vms_status_log") }
        await expectMigrates(path)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: Self.statusLogTrigger.replacingOccurrences(of: "(vm_id, kind, at, detail) VALUES (NEW.vm_id,", with: "(network, vm_id, kind, at, detail) VALUES (NEW.network, NEW.vm_id,"))
            try db.execute(sql: "UPDATE vms SET status = 'stopped' WHERE vm_id = '005o'")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_events WHERE kind = 'status' AND network = 'qa'") == 1)
        }
        #expect(await run(["verify", "--db", path]).code == 0)
    }

    /// A trigger that was already broken before is not the migration's doing: it migrates, and verify names it.
    @Test func aTriggerBrokenBeforeTheMigrationIsLeftToVerify() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "CREATE TRIGGER vms_broken AFTER INSERT ON vms BEGIN INSERT INTO vm_missing VALUES (NEW.vm_id); END")
        await expectMigratesThenVerify(path, verifyCode: 3, saying: "trigger vms_broken")
    }

    // MARK: Class 9: constraints the migration's own data steps break, given the rows

    /// Ecto's `unique_index(:vms, [:network, :name])`, two VMs with no network and one name,
    /// and the default network that would make them equal: found by a query, before anything.
    @Test func aUniqueIndexTheDefaultNetworkWouldBreakIsRefusedBeforeAnything() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE UNIQUE INDEX vms_network_name_index ON vms (network, name);
            UPDATE vms SET network = NULL, name = 'web' WHERE vm_id IN ('005o', '0069');
            """)
        let before = try Fixtures.fileHash(path)
        for arguments in [["plan"], ["migrate", "--dry-run"], ["migrate"]] {
            let result = await run(arguments + ["--db", path, "--default-network", "dev"])
            #expect(result.code == 65, "\(arguments): \(result.err)\(result.out.suffix(300))")
            #expect((result.err + result.out).contains("vms_network_name_index"), "\(arguments): \(result.err)")
            #expect(!(result.err + result.out).contains("bug"), "\(arguments): \(result.err)")
        }
        #expect(try Fixtures.fileHash(path) == before)
        // With the clash resolved by the operator (one VM renamed), it migrates.
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "UPDATE vms SET name = 'web-2' WHERE vm_id = '0069'") }
        await expectMigrates(path, ["--default-network", "dev"])
    }

    /// An index on an expression: only the real rows show the clash, and the run that meets
    /// it names the index, rolls back and exits 2 (never 1).
    @Test func aClashOnlyTheRowsShowIsNamedByTheRunWithExit2() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE UNIQUE INDEX vms_network_lower_name ON vms (lower(network), lower(name));
            UPDATE vms SET network = NULL, name = 'web' WHERE vm_id = '005o';
            UPDATE vms SET network = NULL, name = 'WEB' WHERE vm_id = '0069';
            """)
        let before = try Fixtures.fileHash(path)
        for arguments in [["migrate", "--dry-run"], ["migrate", "--no-backup"]] {
            let result = await run(arguments + ["--db", path, "--default-network", "dev"])
            #expect(result.code == 2, "\(arguments): \(result.err)\(result.out.suffix(300))")
            #expect((result.err + result.out).contains("vms_network_lower_name"), "\(arguments): \(result.err)")
        }
        #expect(try Fixtures.fileHash(path) == before)
        var options = MigrationOptions()
        options.takesBackup = false
        options.parameters = ["default_network": "dev"]
        let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.migrate(path: path, options: options) }
        #expect(error.code == .dataConflict && error.object == "vms_network_lower_name" && error.version == 3 && error.path == path)
    }

    // MARK: verify runs the kept objects

    /// A trigger added after the migration that cannot fire, or a view that cannot be read:
    /// verify exits 3 and names it; running it changed nothing in the file.
    @Test(arguments: [
        ("trigger vms_status_log", OperatorSchemaTests.statusLogTrigger),
        ("view vms_broken", "CREATE VIEW vms_broken AS SELECT vm_id, gone FROM vms"),
    ])
    func verifyRunsEveryTriggerAndViewAndNamesTheBrokenOnes(_ name: String, _ sql: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "")
        #expect(await run(["migrate", "--db", path, "--no-backup"]).code == 0)
        try await DatabaseQueue(path: path).write { try $0.execute(sql: sql) }
        let before = try Fixtures.fileHash(path)
        let result = await run(["verify", "--db", path])
        #expect(result.code == 3, "\(result.out)")
        #expect(result.out.contains("BROKEN") && result.out.contains(name), "\(result.out)")
        try expectNothingCommitted(path, hash: before)
    }

    @Test func verifyLeavesTheFileAsItWasWhenEveryObjectWorks() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "CREATE TABLE vm_audit (vm_id TEXT NOT NULL); CREATE TRIGGER vms_ins AFTER INSERT ON vms BEGIN INSERT INTO vm_audit VALUES (NEW.vm_id); END")
        #expect(await run(["migrate", "--db", path, "--no-backup"]).code == 0)
        let before = try Fixtures.fileHash(path)
        let result = await run(["verify", "--db", path])
        #expect(result.code == 0, "\(result.out)")
        try expectNothingCommitted(path, hash: before)
        #expect(try count(path, "SELECT count(*) FROM vm_audit") == 0)
    }

    /// No transaction was committed (a WAL with no frame, or none) and the file is as it was,
    /// also once a connection has checkpointed whatever the WAL held.
    func expectNothingCommitted(_ path: String, hash: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(wal <= 32, "the WAL holds \(wal) bytes: something was committed", sourceLocation: sourceLocation)
        try DatabaseQueue(path: path).close()   // the last connection checkpoints
        #expect(try Fixtures.fileHash(path) == hash, sourceLocation: sourceLocation)
    }

    /// Plan, dry run and migrate succeed; verify then exits `verifyCode`, saying `words`.
    func expectMigratesThenVerify(_ path: String, verifyCode: Int32, saying words: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        for arguments in [["plan"], ["migrate", "--dry-run"], ["migrate", "--no-backup"]] {
            let result = await run(arguments + ["--db", path])
            #expect(result.code == 0, "\(arguments): \(result.err)", sourceLocation: sourceLocation)
        }
        let verify = await run(["verify", "--db", path])
        #expect(verify.code == verifyCode && verify.out.contains(words), "\(verify.out)", sourceLocation: sourceLocation)
    }
}
