import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

/// An operator changing the schema while `migrate --online` copies: a change to a
/// table the migration rebuilds undoes the run cleanly (no capture trigger, new table
/// or renamed index left, the operator's change kept as made) with an error naming
/// the change; a change elsewhere lets it finish. The operator's statement runs on a
/// second connection between two copy chunks.
@Suite(.serialized) struct OnlineSchemaChangeTests {
    typealias Harness = OnlineConvergenceTests

    struct Case: Sendable, CustomTestStringConvertible {
        let ddl: String
        let named: String
        /// What the operator's change left, asked of SQLite: true while it is there.
        let kept: String
        var testDescription: String { ddl }
    }

    static let changes = [
        Case(ddl: "ALTER TABLE vms ADD COLUMN note TEXT", named: "table vms was changed",
             kept: "SELECT count(*) FROM pragma_table_info('vms') WHERE name = 'note'"),
        Case(ddl: "CREATE INDEX vms_name ON vms(name)", named: "index vms_name was created on vms",
             kept: "SELECT count(*) FROM sqlite_master WHERE name = 'vms_name' AND tbl_name = 'vms'"),
        Case(ddl: "DROP INDEX vms_status", named: "index vms_status on vms was dropped",
             kept: "SELECT count(*) = 0 FROM sqlite_master WHERE name = 'vms_status'"),
        Case(ddl: "CREATE TRIGGER vms_touch AFTER UPDATE ON vms BEGIN SELECT 1; END", named: "trigger vms_touch was created on vms",
             kept: "SELECT count(*) FROM sqlite_master WHERE name = 'vms_touch'"),
    ]

    static func scalar(_ path: String, _ sql: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { try Int.fetchOne($0, sql: sql) ?? -1 }
    }

    @Test(arguments: changes)
    func aChangeToAMigratedTableUndoesTheRunAndKeepsTheChange(_ change: Case) throws {
        let directory = try TemporaryDirectory("online-schema-change")
        let (live, shadow) = try Harness.databases(vms: 8, in: directory)
        let deployer = try Harness.Deployer(path: live, plan: [0: [Harness.Write([(change.ddl, [])])]])
        let settings = Harness.settings(chunkRows: 2, batch: 100, deployer: deployer)
        let error = #expect(throws: MigrationError.self) {
            _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: settings))
        }
        try deployer.close()
        #expect(deployer.acknowledged.count == 1, "\(deployer.failures)")
        #expect(error?.code == .schemaChangedDuringOnline && error?.kind == .unusableInput, "\(error.map { "\($0)" } ?? "")")
        #expect(error?.message.contains(change.named) == true && error?.message.contains("Migrate again") == true, "\(error?.message ?? "")")
        // Undone: nothing of the run left, still at version 2, the operator's change as made.
        #expect(try Harness.rows(live)["leftovers"] == [])
        #expect(try Self.scalar(live, "SELECT max(version) FROM vmdb_migrations") == 2)
        #expect(try Self.scalar(live, change.kept) == 1)
        #expect(error?.message.contains("was undone") == true, "\(error?.message ?? "")")
        // No capture trigger left: a deployer's write after the undo needs no change log.
        let writer = try DatabaseQueue(path: live)
        try writer.write { try $0.execute(sql: "UPDATE vms SET name = name WHERE rowid = 1") }
        try writer.close()

        // Run again: it starts from the schema as it is now and gives what offline gives.
        _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: OnlineSettings()))
        let queue = try DatabaseQueue(path: shadow)
        try queue.write { try $0.execute(sql: change.ddl) }
        try queue.close()
        _ = try Fixtures.migrator.migrate(path: shadow, options: Harness.options())
        #expect(try Harness.rows(live) == Harness.rows(shadow))
        #expect(try Self.schema(live) == Self.schema(shadow))
    }

    /// A table and an index of the operator's own, made during the copy, do not stop it.
    @Test func aChangeElsewhereLetsTheRunFinish() throws {
        let ddl = ["CREATE TABLE operator_notes (id INTEGER PRIMARY KEY, note TEXT)", "CREATE INDEX operator_notes_note ON operator_notes(note)"]
        let outcome = try Harness.run(vms: 8, chunkRows: 2, batch: 100, plan: [0: [Harness.Write([(ddl[0], [])])], 2: [Harness.Write([(ddl[1], [])])]])
        Harness.expectConverged(outcome, writes: 2)
    }

    /// The operator names an index of their own as the migration names its index on the
    /// new table (v3's `vms_identity`), on another table, during the copy: free then, so
    /// the guard lets it through; the cut-over must not write a second object of that name.
    @Test func anIndexTakingTheMigrationsIndexNameUndoesTheRunAndKeepsIt() throws {
        let directory = try TemporaryDirectory("online-name-taken")
        let (live, _) = try Harness.databases(vms: 8, in: directory)
        let deployer = try Harness.Deployer(path: live, plan: [0: [Harness.Write([("CREATE TABLE other (x)", []), ("CREATE INDEX VMS_Identity ON other(x)", [])]), .replace("vm9", network: nil)]])
        let error = #expect(throws: MigrationError.self) {
            _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: Harness.settings(chunkRows: 2, batch: 100, deployer: deployer)))
        }
        try deployer.close()
        #expect(deployer.acknowledged.count == 2, "\(deployer.failures)")
        #expect(error?.code == .schemaChangedDuringOnline && error?.object == "VMS_Identity", "\(error.map { "\($0)" } ?? "")")
        #expect(error?.message.contains("VMS_Identity on other") == true && error?.message.contains("was undone") == true, "\(error?.message ?? "")")
        #expect(try Harness.rows(live)["leftovers"] == [])
        #expect(try Self.scalar(live, "SELECT count(*) FROM sqlite_master WHERE name = 'vms_identity' COLLATE NOCASE") == 1)
        #expect(try Self.scalar(live, "SELECT count(*) FROM sqlite_master WHERE name = 'VMS_Identity' AND tbl_name = 'other'") == 1)
        #expect(try Self.scalar(live, "SELECT max(version) FROM vmdb_migrations") == 2)
        // The row step ran on the deployer's row without a network and stays applied, as the message says.
        #expect(try Self.scalar(live, "SELECT count(*) FROM vms WHERE vm_id = 'vm9' AND network = 'main'") == 1)
        #expect(error?.message.contains("stay applied") == true, "\(error?.message ?? "")")
        let queue = try DatabaseQueue(path: live)
        defer { try? queue.close() }
        #expect(try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"])
        // The next run refuses it up front (the preflight's check of the migration's names), changing nothing.
        let again = #expect(throws: MigrationError.self) {
            _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: OnlineSettings()))
        }
        #expect(again?.kind == .unusableInput && again?.message.contains("(on other)") == true && again?.message.contains("Nothing was changed") == true,
                "\(again.map { "\($0)" } ?? "")")
    }

    /// A migration whose new table has a unique index on an expression: the copy cannot
    /// find the holders of a moved key through it, so the online run is refused before
    /// anything changes, naming the index.
    @Test func aUniqueIndexOnAnExpressionInTheNewTableIsRefusedUpFront() throws {
        let directory = try TemporaryDirectory("online-expression-key")
        let (live, _) = try Harness.databases(vms: 4, in: directory)
        var files = Fixtures.migrator.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        let v3 = try #require(files.firstIndex { $0.text.contains("CREATE UNIQUE INDEX vms_identity") })
        files[v3].text = files[v3].text.replacingOccurrences(of: "CREATE UNIQUE INDEX vms_identity ON vms(network, vm_id);",
                                                             with: "CREATE UNIQUE INDEX vms_identity ON vms(network, vm_id);\nCREATE UNIQUE INDEX vms_name_key ON vms(lower(name));")
        let migrator = Migrator(catalog: try MigrationCatalog(files: files), toolVersion: "test", configuration: ShippedMigrations.configuration)
        let before = try Fixtures.fileHash(live)
        let error = #expect(throws: MigrationError.self) {
            _ = try migrator.migrate(path: live, options: Harness.options(online: OnlineSettings()))
        }
        #expect(error?.code == .onlineNotPossible && error?.message.contains("vms_name_key") == true, "\(error.map { "\($0)" } ?? "")")
        #expect(try Fixtures.fileHash(live) == before)
    }

    static func schema(_ path: String) throws -> [[DatabaseValue]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read {
            try Row.fetchAll($0, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> 'vmdb_migrations' ORDER BY name").map { Array($0.databaseValues) }
        }
    }
}
