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

    /// Prisma's pair: `@unique` on vm_id (`vms_vm_id_key`) and a relation to it (a table whose
    /// foreign key references vms(vm_id)). Taking either away alone does not let the migration
    /// pass, so both are named, the index first, alike by plan, dry run and migrate.
    @Test func prismasUniqueIndexAndTheTableReferencingItAreNamedTogether() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE UNIQUE INDEX "vms_vm_id_key" ON "vms"("vm_id");
            CREATE TABLE "VmNote" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "vmId" TEXT NOT NULL, "body" TEXT NOT NULL,
                CONSTRAINT "VmNote_vmId_fkey" FOREIGN KEY ("vmId") REFERENCES "vms" ("vm_id") ON DELETE RESTRICT ON UPDATE CASCADE);
            INSERT INTO "VmNote" ("vmId", "body") VALUES ('005o', 'keep me');
            """)
        try await expectRefused(path, saying: ["index vms_vm_id_key", "table VmNote", "DROP INDEX", "12-step"])
        let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.plan(path: path) }
        #expect(error.code == .schemaConflict && error.object == "vms_vm_id_key" && error.version == 3, "\(error)")
        #expect(!error.message.contains("DROP TABLE"), "\(error.message)")
    }

    /// A table whose foreign key references vm_id, which the new identity no longer keeps
    /// unique: the advice is to rebuild it keeping its rows, never to drop it.
    @Test func aTableReferencingVMIDIsRefusedWithAdviceThatKeepsItsRows() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE TABLE vm_notes (id INTEGER PRIMARY KEY, vm_id TEXT NOT NULL REFERENCES vms(vm_id), note TEXT);
            INSERT INTO vm_notes (vm_id, note) VALUES ('005o', 'keep me');
            """)
        try await expectRefused(path, saying: ["table vm_notes", "12-step", "lang_altertable.html#otheralter", "keeping its rows"])
        let result = await run(["migrate", "--db", path])
        #expect(!(result.err + result.out).contains("DROP TABLE"), "\(result.err)")
        #expect(try count(path, "SELECT count(*) FROM vm_notes") == 1)
    }

    // MARK: Objects this SQLite cannot create on the rehearsal's copy

    /// The deployer's app registers `my_collation` on its connections; vmdb has no such collation.
    func withAppCollation(_ path: String, _ sql: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            db.add(collation: DatabaseCollation("my_collation") { $0.lowercased().compare($1.lowercased()) })
        }
        try DatabaseQueue(path: path, configuration: configuration).write { try $0.execute(sql: sql) }
    }

    /// A table with a column in the app's collation, and a virtual table of a module vmdb
    /// lacks: SQLite never needs either while the migration rebuilds vms and vm_events, so
    /// the migration runs, saying which object it could not rehearse.
    @Test(arguments: [
        ("vm_tags", "CREATE TABLE vm_tags (vm_id TEXT, tag TEXT COLLATE my_collation); INSERT INTO vm_tags VALUES ('005o', 'Web')"),
        ("vm_search", """
            PRAGMA writable_schema = ON;
            INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'vm_search', 'vm_search', 0, 'CREATE VIRTUAL TABLE vm_search USING app_search(name)');
            PRAGMA writable_schema = OFF;
            """),
    ])
    func anObjectTheCopyCannotCreateButTheMigrationLeavesAloneIsNamedAndMigrates(_ name: String, _ sql: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "")
        try withAppCollation(path, sql)
        let before = try Fixtures.fileHash(path)
        for arguments in [["plan"], ["migrate", "--dry-run"]] {
            let result = await run(arguments + ["--db", path])
            #expect(result.code == 0, "\(arguments): \(result.err)\(result.out.suffix(400))")
            #expect(result.out.contains("warning: your table \(name) was not rehearsed"), "\(arguments): \(result.out.prefix(600))")
        }
        #expect(try Fixtures.fileHash(path) == before)
        let result = await run(["migrate", "--db", path, "--no-backup"])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.err.contains("warning: your table \(name) was not rehearsed"), "\(result.err)")
        #expect(try count(path, "SELECT count(*) FROM vms WHERE network = 'qa'") == 8)
    }

    /// An index over a column in the app's collation: rebuilding vms makes SQLite read it
    /// again, which fails without the collation, so it is refused by name before anything.
    @Test func anIndexNeedingTheAppsCollationIsRefusedByName() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "")
        try withAppCollation(path, "CREATE TABLE vm_tags (vm_id TEXT, tag TEXT COLLATE my_collation); CREATE INDEX vm_tags_tag ON vm_tags (tag)")
        try await expectRefused(path, saying: ["index vm_tags_tag", "no such collation sequence: my_collation", "Nothing was changed"])
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

    /// An online run killed during its copy leaves capture triggers and a new table; the next
    /// (offline) migrate would undo them. A refusal found by the rehearsal comes before that
    /// undo, so its "Nothing was changed" is true: the leftovers are still there, untouched.
    @Test func aRefusalBeforeAnInterruptedOnlineRunIsUndoneChangesNothing() async throws {
        let directory = try TemporaryDirectory("leftovers-refused")
        let path = directory.file("live.db")
        try LargeDatabase.makeV2(at: path, vms: 2_000)
        let hold = directory.file("hold-cut-over")
        _ = FileManager.default.createFile(atPath: hold, contents: nil)
        try await offThePool {
            let online = try WatchedProcess(["migrate", "--db", path, "--online", "--no-backup", "--progress", "--default-network", "main",
                                             "--postpone-cut-over-file", hold], in: directory, label: "online")
            #expect(online.waitFor("cut-over postponed", timeout: 120), "\(online.standardError)")
            online.kill()
            _ = online.finish()
        }
        try await DatabaseQueue(path: path).write { try $0.execute(sql: Self.statusLogTrigger) }
        let leftovers = try OnlineMigrationTests.leftovers(path)
        #expect(!leftovers.isEmpty)
        let schema = try strings(path, "SELECT coalesce(sql, name) FROM sqlite_master ORDER BY name")
        let result = await run(["migrate", "--db", path, "--no-backup", "--default-network", "main"])
        #expect(result.code == 65, "\(result.err)")
        #expect(result.err.contains("vms_status_log") && result.err.contains("Nothing was changed"), "\(result.err)")
        #expect(try OnlineMigrationTests.leftovers(path) == leftovers)
        #expect(try strings(path, "SELECT coalesce(sql, name) FROM sqlite_master ORDER BY name") == schema)
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

    /// The same index made partial (`WHERE network IS NOT NULL`, as Rails' `where:` and Prisma
    /// write it): the rows with no network are outside it today and inside it once filled, so
    /// the check evaluates the condition on the filled rows and refuses before anything.
    @Test func aPartialUniqueIndexTheFillWouldBreakIsRefusedBeforeAnything() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, """
            CREATE UNIQUE INDEX vms_network_name_partial ON vms (network, name) WHERE network IS NOT NULL;
            UPDATE vms SET network = NULL, name = 'web' WHERE vm_id IN ('005o', '0069');
            """)
        let before = try Fixtures.fileHash(path)
        for arguments in [["plan"], ["migrate", "--dry-run"], ["migrate"]] {
            let result = await run(arguments + ["--db", path, "--default-network", "dev"])
            #expect(result.code == 65, "\(arguments): \(result.err)\(result.out.suffix(300))")
            #expect((result.err + result.out).contains("vms_network_name_partial"), "\(arguments): \(result.err)")
        }
        #expect(try Fixtures.fileHash(path) == before)
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
