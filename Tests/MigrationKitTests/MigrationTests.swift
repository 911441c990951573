import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

/// Migrating real files: the identity change, what it preserves, and every refusal
/// leaving the file byte for byte as it was.
@Suite struct MigrationTests {
    let migrator = Fixtures.migrator

    func options(network: String? = nil, backup: Bool = false, directory: TemporaryDirectory? = nil) -> MigrationOptions {
        var options = MigrationOptions()
        options.parameters = network.map { ["default_network": $0] } ?? [:]
        options.takesBackup = backup
        options.backupDirectory = directory?.path
        return options
    }

    @Test func eightV1VMsReachV3WithEveryRowAndHashPreserved() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)

        var toV3 = options(network: "main")
        toV3.targetVersion = 3   // the identity change is what this is about
        let report = try migrator.migrate(path: path, options: toV3)

        #expect(report.fromVersion == 1 && report.toVersion == 3)
        #expect(report.migrations.map(\.version) == [2, 3])
        for migration in report.migrations {
            let vms = try #require(migration.verification.tables.first { $0.table == "vms" })
            #expect(vms.rowsBefore == 8 && vms.rowsAfter == 8)
            #expect(vms.hashBefore != nil && vms.hashBefore == vms.hashAfter)
            let events = try #require(migration.verification.tables.first { $0.table == "vm_events" })
            #expect(events.rowsBefore == 16 && events.rowsAfter == 16 && events.hashBefore == events.hashAfter)
            #expect(migration.verification.integrity == "ok")
        }
        try DatabaseQueue(path: path).read { (db: Database) throws -> Void in
            #expect(try String.fetchAll(db, sql: "SELECT DISTINCT network FROM vms") == ["main"])
            #expect(try String.fetchAll(db, sql: "SELECT vm_id FROM vms ORDER BY id") == Fixtures.eightVMIds)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_events WHERE network = 'main'") == 16)
            #expect(try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") == 3)
        }
    }

    @Test func theMigratedCopyTakesAnotherNetworksIdButNotAnExactDuplicate() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        _ = try migrator.migrate(path: path, options: options(network: "main"))

        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES ('005o', 'qa', 'qa-vm', 'running', 'x', 'y')")
        }
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute(sql: "INSERT INTO vms (vm_id, network, name, status, created_at, updated_at) VALUES ('005o', 'main', 'dup', 'running', 'x', 'y')")
            }
        }
        try queue.read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vms WHERE vm_id = '005o'") == 2)
        }
    }

    @Test func aV1DatabaseWithRowsNeedsTheNetworkAndIsLeftUntouched() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        let before = try Fixtures.fileHash(path)

        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options(backup: true)) }
        #expect(error.kind == .usage)
        #expect(error.message.contains("8 VM(s)") && error.code == .missingParameter && error.parameter == "default_network")
        #expect(try Fixtures.fileHash(path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.hasSuffix(".backup") })
    }

    @Test func v2RowsWithoutANetworkGetTheStatedOneAndOthersKeepTheirs() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("qa", "005o"), (nil, "0069"), ("", "0070"), ("main", "0071")], into: path)
        let refusal = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options()) }
        #expect(refusal.code == .missingParameter && refusal.parameter == "default_network")

        _ = try migrator.migrate(path: path, options: options(network: "test"))
        let networks = try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT vm_id, network FROM vms ORDER BY vm_id").map { "\($0["network"] as String)/\($0["vm_id"] as String)" }
        }
        #expect(networks == ["qa/005o", "test/0069", "test/0070", "main/0071"])
    }

    @Test func anEmptyV1DatabaseNeedsNoNetwork() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        let report = try migrator.migrate(path: path, options: options())
        #expect(report.toVersion == FutureMigrations.latestShipped)
    }

    @Test func operatorAdditionsSurviveTheRecreation() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("main", "0001"), ("qa", "0002"), ("main", "0003")], into: path)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                ALTER TABLE vms ADD COLUMN notes TEXT DEFAULT 'none';
                UPDATE vms SET notes = 'hand-added ' || vm_id;
                CREATE INDEX ops_vms_name ON vms(name);
                CREATE TRIGGER ops_touch AFTER UPDATE OF status ON vms BEGIN
                    UPDATE vms SET updated_at = 'touched' WHERE id = NEW.id;
                END;
                CREATE VIEW ops_running AS SELECT vm_id, network, notes FROM vms WHERE status = 'running';
                CREATE TABLE ops_audit (id INTEGER PRIMARY KEY, vm_ref INTEGER REFERENCES vms(id) ON DELETE CASCADE);
                INSERT INTO ops_audit (vm_ref) VALUES (1), (2);
                ANALYZE;
                """)
        }
        let report = try migrator.migrate(path: path, options: options())
        // v3 is the migration that rebuilds vms.
        let verification = try #require(report.migrations.first { $0.version == 3 }?.verification)
        #expect(verification.carriedColumns == ["vms.notes"])
        #expect(verification.lostObjects.isEmpty)

        try DatabaseQueue(path: path).write { (db: Database) throws -> Void in
            for name in ["ops_vms_name", "ops_touch", "ops_running", "vms_status", "vms_network"] {
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = ?", arguments: [name]) == 1, "\(name) lost")
            }
            #expect(try String.fetchAll(db, sql: "SELECT notes FROM vms ORDER BY id") == ["hand-added 0001", "hand-added 0002", "hand-added 0003"])
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM ops_audit") == 2, "a cascade fired during the drop")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM ops_running") == 3)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'vms'") ?? 0 > 0, "statistics not refreshed")
            try db.execute(sql: "UPDATE vms SET status = 'stopped' WHERE vm_id = '0001'")
            #expect(try String.fetchOne(db, sql: "SELECT updated_at FROM vms WHERE vm_id = '0001'") == "touched", "trigger does not fire")
        }
        let verify = try migrator.verify(path: path)
        #expect(verify.drift.isEmpty)
        #expect(verify.additions.contains { $0.hasPrefix("column vms.notes") })
    }

    @Test func anUpgradedSchemaEqualsAFreshInstall() throws {
        let directory = try TemporaryDirectory()
        let upgraded = try Fixtures.database(version: 1, in: directory, name: "old.db")
        try Fixtures.insertV1(["0001", "0002"], into: upgraded)
        _ = try migrator.migrate(path: upgraded, options: options(network: "dev"))
        let fresh = try Fixtures.database(version: FutureMigrations.latestShipped, in: directory, name: "new.db")
        let a = try DatabaseQueue(path: upgraded).read { try SchemaSnapshot.read($0, excludingPrefix: "vmdb_") }
        let b = try DatabaseQueue(path: fresh).read { try SchemaSnapshot.read($0, excludingPrefix: "vmdb_") }
        #expect(a.objects.map(\.normalizedSQL) == b.objects.map(\.normalizedSQL))
    }

    @Test func anUnmanagedDatabaseIsBaselinedFromItsSchema() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.unmanagedDatabase(version: 2, in: directory)
        try Fixtures.insertV2([("qa", "005o")], into: path)
        let status = try migrator.status(path: path)
        #expect(!status.isManaged && status.currentVersion == 2 && status.pending.map(\.version) == [3, 4])

        let report = try migrator.migrate(path: path, options: options())
        #expect(report.baselinedVersion == 2)
        let history = try migrator.status(path: path).applied
        #expect(history.map(\.version) == [1, 2, 3, 4])
        #expect(history.map(\.kind) == [.baseline, .baseline, .applied, .applied])
    }

    @Test func aSchemaNoVersionMatchesIsRefusedWithTheDifferences() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("odd.db")
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE vms (id INTEGER PRIMARY KEY, vm_id TEXT, owner TEXT)")
        }
        let before = try Fixtures.fileHash(path)
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options()) }
        #expect(error.kind == .unusableInput)
        #expect(error.message.contains("matches no known version") && error.message.contains("vms.created_at is missing"))
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aDatabaseNewerThanTheToolIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: FutureMigrations.latestShipped, in: directory)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind) VALUES (?, 'future', 'x', 'now', 0, 0, '9.9', 'applied')",
                           arguments: [FutureMigrations.next])
        }
        let before = try Fixtures.fileHash(path)
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options()) }
        #expect(error.kind == .databaseNewer && error.message.contains("\(FutureMigrations.next)"))
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aTamperedShippedMigrationIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        var files = migrator.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        files[1].text = files[1].text.replacingOccurrences(of: "CREATE INDEX vms_network", with: "CREATE INDEX IF NOT EXISTS vms_network")
        let tampered = Migrator(catalog: try MigrationCatalog(files: files), toolVersion: "test", configuration: ShippedMigrations.configuration)
        let before = try Fixtures.fileHash(path)
        let error = try #require(throws: MigrationError.self) { try tampered.migrate(path: path, options: options()) }
        #expect(error.kind == .historyInconsistent && error.message.contains("2"))
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aTamperedHistoryRowOrAGapIsRefused() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try DatabaseQueue(path: path).write { try $0.execute(sql: "DELETE FROM vmdb_migrations WHERE version = 1") }
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options()) }
        #expect(error.kind == .historyInconsistent && error.message.contains("lacks version(s) 1"))
    }

    @Test func aHeldLockGivesBusyAndChangesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let before = try Fixtures.fileHash(path)
        let lock = try MigratorLock(databasePath: path, suffix: ".vmdb-lock", purpose: "test holder")
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options()) }
        #expect(error.kind == .busy && error.message.contains("test holder"))
        #expect(try Fixtures.fileHash(path) == before)
        withExtendedLifetime(lock) {}
    }

    @Test func aFailingVerificationRollsBackThatMigrationOnly() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        // Migration 3 loses a row: its verification must refuse to commit.
        var files = migrator.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        files[2].text += "\n--! step\nDELETE FROM vm_events WHERE id = 1;\n"
        let lossy = Migrator(catalog: try MigrationCatalog(files: files), toolVersion: "test", configuration: ShippedMigrations.configuration)

        let error = try #require(throws: MigrationError.self) { try lossy.migrate(path: path, options: options(network: "main")) }
        #expect(error.kind == .verificationFailed)
        // The documented code, with the file and the migration (issue 22: it was the kind's name, without either).
        #expect(error.code == .failedVerification && error.path == path && error.version == 3)
        #expect(error.message.contains("vm_events: 16 rows before, 15 after"))
        #expect(error.verification?.passed == false)
        // Migration 2 committed; migration 3 rolled back whole.
        let status = try migrator.status(path: path)
        #expect(status.currentVersion == 2)
        try DatabaseQueue(path: path).read { (db: Database) throws -> Void in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_events") == 16)
            #expect(try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM sqlite_master WHERE name LIKE '%vmdb_new%'") == false)
        }
    }

    @Test func aFailingVerificationLeavesTheFileByteForByte() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("main", "0001"), ("qa", "0002")], into: path)
        _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.checkpoint(.truncate) }
        let before = try Fixtures.fileHash(path)
        var files = migrator.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        files[2].text = files[2].text.replacingOccurrences(of: "SELECT e.id, e.vm_id, e.kind,", with: "SELECT e.id, e.vm_id, e.kind || '!',")
        let broken = Migrator(catalog: try MigrationCatalog(files: files), toolVersion: "test", configuration: ShippedMigrations.configuration)
        let error = try #require(throws: MigrationError.self) { try broken.migrate(path: path, options: options()) }
        #expect(error.kind == .verificationFailed)
        #expect(error.message.contains("table vm_events: content of columns"))
        #expect(try Fixtures.fileHash(path) == before)
        #expect(try migrator.status(path: path).currentVersion == 2)
    }

    @Test func theBackupIsPrivateCheckedAndRecorded() throws {
        let directory = try TemporaryDirectory()
        let backups = try TemporaryDirectory("backups")
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("main", "0001")], into: path)
        let report = try migrator.migrate(path: path, options: options(backup: true, directory: backups))
        let backup = try #require(report.backup)
        #expect(backup.path.hasPrefix(backups.path))
        let mode = try #require(FileManager.default.attributesOfItem(atPath: backup.path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try Fixtures.fileHash(backup.path) == backup.sha256)
        #expect(try migrator.status(path: backup.path).currentVersion == 2)
        #expect(try migrator.status(path: path).applied.last?.backupSHA256 == backup.sha256)

        // And restore puts version 2 back, keeping the v3 content aside first.
        let restored = try migrator.restore(path: path, from: backup.path, safetyBackupDirectory: backups.path, takesSafetyBackup: true)
        #expect(restored.restoredVersion == 2)
        #expect(try migrator.status(path: path).currentVersion == 2)
        #expect(try migrator.status(path: try #require(restored.safetyBackup).path).currentVersion == FutureMigrations.latestShipped)
    }

    @Test func aCorruptBackupIsNotRestored() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        let bad = directory.file("bad.backup")
        try Data("not a database at all".utf8).write(to: URL(fileURLWithPath: bad))
        let before = try Fixtures.fileHash(path)
        let error = try #require(throws: MigrationError.self) {
            try migrator.restore(path: path, from: bad, safetyBackupDirectory: nil, takesSafetyBackup: true)
        }
        #expect(error.kind == .unusableInput)
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func planListsTheSQLAndChangesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("main", "0001")], into: path)
        let before = try Fixtures.fileHash(path)
        let plan = try migrator.plan(path: path)
        let statements = try #require(plan.migrations.first?.statements)
        #expect(statements.first == "PRAGMA foreign_keys = OFF")
        #expect(statements.contains("BEGIN IMMEDIATE") && statements.contains("COMMIT"))
        #expect(statements.last == "PRAGMA wal_checkpoint(PASSIVE)", "the checkpoint runs after the lock is released")
        #expect(statements.contains { $0.hasPrefix("CREATE TABLE \"vms__vmdb_new\"") })
        #expect(statements.contains("DROP TABLE \"vms\""))
        #expect(statements.contains { $0.contains("INSERT INTO vmdb_migrations") })
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func initRefusesAnExistingFileAndMissingPathsAreNeverCreated() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        let existing = try #require(throws: MigrationError.self) { try migrator.createDatabase(path: path) }
        #expect(existing.code == .fileExists && existing.path == path, "\(existing)")
        let missing = directory.file("typo.db")
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: missing, options: options()) }
        #expect(error.kind == .unusableInput)
        #expect(!FileManager.default.fileExists(atPath: missing))
        #expect(!FileManager.default.fileExists(atPath: missing + ".vmdb-lock"))
    }

    @Test(arguments: [
        ("empty", Data()),
        ("text", Data("hello, this is not SQLite\n".utf8)),
        ("truncated header", Data("SQLite format 3\0".utf8) + Data(repeating: 0, count: 40)),
    ])
    func unusableFilesAreRefused(_ name: String, _ content: Data) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("\(name).db")
        try content.write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: MigrationError.self) { try migrator.migrate(path: path, options: options()) }
        #expect(error.kind == .unusableInput)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
    }

    @Test func verifyFindsSchemaDrift() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        #expect(try migrator.verify(path: path).isClean)
        try DatabaseQueue(path: path).write { try $0.execute(sql: "DROP INDEX vms_status") }
        let report = try migrator.verify(path: path)
        #expect(!report.isClean)
        #expect(report.drift.contains { $0.contains("vms_status") })
    }
}

@Suite struct ForeignKeyRefusalTests {
    /// An operator's table that refers to vms(vm_id) cannot survive the identity
    /// change as it is: a refusal that names it and says what to do, not a crash.
    @Test func aChildReferringToTheOldKeyIsRefusedWithAdvice() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("main", "005o")], into: path)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE vm_notes (id INTEGER PRIMARY KEY, vm_id TEXT REFERENCES vms(vm_id) ON DELETE CASCADE, note TEXT)")
            try db.execute(sql: "INSERT INTO vm_notes (vm_id, note) VALUES ('005o', 'hi')")
        }
        let before = try Fixtures.fileHash(path)
        var options = MigrationOptions()
        options.takesBackup = false
        let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.migrate(path: path, options: options) }
        // Found by the rehearsal on a copy of the schema, before anything ran (issue 22): the table named.
        #expect(error.code == .schemaConflict && error.object == "vm_notes" && error.version == 3)
        #expect(error.message.contains("vm_notes") && error.message.contains("(network, vm_id)"))
        #expect(try Fixtures.fileHash(path) == before)
    }

    /// A refusal over the operator's schema is data a caller can act on: its code and the object.
    @Test func aNameTheMigrationNeedsIsRefusedWithItsCodeAndObject() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try DatabaseQueue(path: path).write { try $0.execute(sql: "CREATE INDEX vms_identity ON vms(name)") }
        let before = try Fixtures.fileHash(path)
        var options = MigrationOptions()
        options.parameters = ["default_network": "main"]
        let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.migrate(path: path, options: options) }
        #expect(error.code == .schemaConflict && error.kind == .unusableInput)
        #expect(error.object == "vms_identity" && error.version == 3)
        #expect(try Fixtures.fileHash(path) == before)
    }
}
