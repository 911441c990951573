import Foundation
import GRDB
@testable import MigrationKit
import Testing
import VMDBTestSupport

/// Online, a migration that rebuilds no table runs in one write transaction beside
/// the deployer. Its verification checks only the tables its statements write or
/// whose schema they change (SQLite reports each row a statement, a trigger or a
/// cascade writes), its "before" read on a snapshot: before, it hashed every table
/// under the write lock, and `migrate --online` from v2 or v3 to v4 held the
/// deployer off for the whole census (over 1 s at 20,000 VMs on a loaded machine,
/// which made a deployer with a 1 s busy timeout fail in CI).
@Suite struct ScopedOnlineVerificationTests {
    /// A v4 database with `vms` VMs (and one event each), and the catalog with `next` as v5.
    private static func database(vms: Int, next: String, in directory: TemporaryDirectory) throws -> (path: String, migrator: Migrator) {
        let path = try Fixtures.database(version: 4, in: directory)
        try DatabaseQueue(path: path).write { db in
            for i in 0..<vms {
                try db.execute(sql: "INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES (?, ?, ?, 'running', 'a', 'b')",
                               arguments: ["v\(i)", i % 2 == 0 ? "main" : "qa", "vm \(i)"])
                try db.execute(sql: "INSERT INTO vm_events (vm_id, network, kind, at) VALUES (?, ?, 'created', 'a')",
                               arguments: ["v\(i)", i % 2 == 0 ? "main" : "qa"])
            }
        }
        return (path, try FutureMigrations.migrator([(FutureMigrations.fileName("scoped", version: 5), next)]))
    }

    private static func migrate(_ migrator: Migrator, _ path: String, online: Bool) throws -> MigrationRunReport {
        var settings = OnlineSettings()
        settings.pause = 0
        return try migrator.migrate(path: path, options: OnlineConvergenceTests.options(online: online ? settings : nil))
    }

    @Test func anAdditiveMigrationOnlineHashesNoTableItDoesNotWrite() throws {
        let directory = try TemporaryDirectory("scoped-additive")
        let (path, migrator) = try Self.database(vms: 2_000, next: FutureMigrations.additiveNext(), in: directory)
        let online = try Self.migrate(migrator, path, online: true)
        let record = try #require(online.migrations.last?.verification)
        // ADD COLUMN changes vms' schema (checked: rows, content, integrity), CREATE TABLE adds one with no rows before.
        #expect(record.tables.map(\.table) == ["vms"], "\(record.tables.map(\.table))")
        #expect(record.passed && record.tables.first?.rowsAfter == 2_000)

        // Offline, the same migration still checks every table (it holds the lock either way).
        let offlineDirectory = try TemporaryDirectory("scoped-additive-offline")
        let (offlinePath, _) = try Self.database(vms: 2_000, next: FutureMigrations.additiveNext(), in: offlineDirectory)
        let offline = try Self.migrate(migrator, offlinePath, online: false)
        #expect(Set(offline.migrations.last?.verification.tables.map(\.table) ?? []) == ["vms", "vm_events", "vm_repairs", "provision_intents"])
    }

    @Test func aTableTheMigrationWritesIsStillChecked() throws {
        // An undeclared change to the events: vm_events is written, so it is checked, and the change is caught.
        let next = "--! step\nUPDATE vm_events SET detail = 'touched' WHERE vm_id = 'v1';\n"
        let directory = try TemporaryDirectory("scoped-written")
        let (path, migrator) = try Self.database(vms: 50, next: next, in: directory)
        let error = #expect(throws: MigrationError.self) { _ = try Self.migrate(migrator, path, online: true) }
        #expect(error?.code == .failedVerification)
        #expect(error?.verification?.tables.map(\.table) == ["vm_events"], "\(error?.verification?.tables.map(\.table) ?? [])")
        #expect(error?.verification?.failures.contains { $0.hasPrefix("table vm_events: content of columns") } == true,
                "\(error?.verification?.failures ?? [])")
        #expect(try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT max(version) FROM vmdb_migrations") } == 4)
    }

    @Test func aMigrationThatDropsATableOnlineChecksTheOthersAndRecordsTheDrop() throws {
        // v5 adds a table with rows; v6, online, drops it and writes vm_events. The dropped table is
        // touched (its schema is gone) but no longer there to check: before the fix, quick_check
        // named it and the migration failed with "no such table".
        let directory = try TemporaryDirectory("scoped-drop")
        let path = try Fixtures.database(version: 4, in: directory)
        let migrator = try FutureMigrations.migrator([
            (FutureMigrations.fileName("notes", version: 5), "--! step\nCREATE TABLE notes (note TEXT);\nINSERT INTO notes VALUES ('a'), ('b');\n"),
            (FutureMigrations.fileName("drop_notes", version: 6), "--! drops table notes\n--! step\nDROP TABLE notes;\n"),
        ])
        var options = OnlineConvergenceTests.options(online: nil)
        options.targetVersion = 5
        _ = try migrator.migrate(path: path, options: options)
        let report = try Self.migrate(migrator, path, online: true)
        let record = try #require(report.migrations.last?.verification)
        #expect(report.migrations.last?.version == 6)
        #expect(record.passed && record.integrity == "ok", "\(record.failures)")
        #expect(record.tables.isEmpty, "a table declared dropped is not counted: \(record.tables)")
        #expect(try DatabaseQueue(path: path).read { try $0.tableExists("notes") } == false)
    }

    /// What counts as touched, against SQLite's own answers: rows written, a schema
    /// changed (a table's or one of its indexes'), and every WITHOUT ROWID table.
    @Test func touchedTablesAreTheWrittenTheReshapedAndTheWithoutRowid() throws {
        let queue = try DatabaseQueue()
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TABLE a (x); CREATE TABLE b (x); CREATE TABLE c (x); CREATE TABLE d (x);
                CREATE TABLE tags (tag TEXT PRIMARY KEY) WITHOUT ROWID;
                INSERT INTO a VALUES (1); INSERT INTO b VALUES (1);
                """)
            let before = try SchemaSnapshot.read(db)
            let written = WrittenTables()
            db.add(transactionObserver: written, extent: .observerLifetime)
            try db.inTransaction {
                try db.execute(sql: "UPDATE a SET x = 2; CREATE INDEX c_x ON c (x); ALTER TABLE d ADD COLUMN y")
                return .commit
            }
            let touched = try written.touched(db, before: before, after: try SchemaSnapshot.read(db))
            #expect(touched == ["a", "c", "d", "tags"], "\(touched.sorted())")
        }
    }
}
