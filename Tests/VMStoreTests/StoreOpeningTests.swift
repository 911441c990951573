import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport
import VMStore

/// The store opens an existing database at schema version 3, and nothing else.
@Suite struct StoreOpeningTests {
    @Test func opensAV3DatabaseMadeByTheMigrations() throws {
        let fixture = try StoreFixture()
        #expect(try fixture.store.count() == 0)
        #expect(try fixture.store.list().isEmpty)
    }

    /// Opening and reading write nothing: GRDB's own WAL setup would create and drop a table
    /// (bumping the schema cookie and leaving a free page) whenever the -wal file is empty.
    @Test func openingAndReadingLeaveTheFileByteForByte() throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.database(version: 3, in: directory)
        let writer = try VMStore(path: path)
        try writer.provision(.sample("main", "005o"))
        try writer.provision(.sample("qa", "005o"))
        try writer.close()
        let before = try Fixtures.fileHash(path)
        let store = try VMStore(path: path)
        #expect(try store.count() == 2)
        #expect(try store.vm(.id("qa", "005o")) != nil)
        try store.close()
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aMissingPathIsAnErrorAndNoFileIsCreated() throws {
        let directory = try TemporaryDirectory("store")
        let path = directory.file("typo.db")
        #expect {
            try VMStore(path: path)
        } throws: { error in
            (error as? StoreError)?.code == .unusableDatabase && "\(error)".contains("no database here")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test(arguments: [("empty", Data()), ("text", Data("hello, not a database at all".utf8))])
    func aFileThatIsNotSQLiteIsRefusedUntouched(label: String, content: Data) throws {
        let directory = try TemporaryDirectory("store")
        let path = directory.file("\(label).db")
        _ = FileManager.default.createFile(atPath: path, contents: content)
        #expect(storeErrorCode { _ = try VMStore(path: path) } == .unusableDatabase)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
    }

    @Test func aFolderIsRefused() throws {
        let directory = try TemporaryDirectory("store")
        #expect(storeErrorCode { _ = try VMStore(path: directory.path) } == .unusableDatabase)
    }

    @Test(arguments: [1])
    func anOlderVersionIsRefusedNamingBothVersionsAndLeftAsItWas(version: Int) throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.database(version: version, in: directory)
        let before = try Fixtures.fileHash(path)
        #expect {
            try VMStore(path: path)
        } throws: { error in
            guard let error = error as? StoreError, error.code == .schemaTooOld else { return false }
            return error.versions?.found == version && error.versions?.expected == VMStore.schemaVersion
                && error.description.contains("schema version \(version)") && error.description.contains("vmdb migrate")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aNewerDatabaseIsRefused() throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.database(version: 4, in: directory)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind)
                VALUES (5, 'future', 'x', '2027-01-01T00:00:00Z', 0, 0, '9.9.9', 'applied')
                """)
        }
        #expect {
            try VMStore(path: path)
        } throws: { error in
            let error = error as? StoreError
            return error?.code == .databaseNewer && error?.versions?.found == 5 && error?.versions?.expected == 4
        }
    }

    /// Every production deployer's file has never seen vmdb (issue 22): a v2 or v3 one opens by
    /// the shape of its VM tables, reads and writes as that version, and gets no history from
    /// the store (recording the baseline is migrate's).
    @Test(arguments: [2, 3])
    func aDeployerDatabaseThatNeverSawVMDBOpensAtItsVersion(version: Int) throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.unmanagedDatabase(version: version, in: directory)
        try DatabaseQueue(path: path).write { db in   // an operator's additions change nothing
            try db.execute(sql: "ALTER TABLE vms ADD COLUMN region TEXT; CREATE INDEX vms_region ON vms(region)")
        }
        let store = try VMStore(path: path)
        try store.provision(NewVM(identity: try VMIdentity(network: "main", vmID: "005o"), name: "a", status: .running))
        let collision = NewVM(identity: try VMIdentity(network: "qa", vmID: "005o"), name: "b", status: .running)
        if version == 2 {
            #expect(throws: StoreError.self) { try store.provision(collision) }
        } else {
            try store.provision(collision)
        }
        #expect(try store.count() == (version == 2 ? 1 : 2))
        try store.close()
        #expect(try DatabaseQueue(path: path).read { try $0.tableExists("vmdb_migrations") } == false)
    }

    @Test func anUnmanagedV1IsTooOldAndATableOfNoVersionIsNotManaged() throws {
        let directory = try TemporaryDirectory("store")
        let v1 = try Fixtures.unmanagedDatabase(version: 1, in: directory, name: "v1.db")
        let error = try #require(throws: StoreError.self) { try VMStore(path: v1) }
        #expect(error.code == .schemaTooOld && error.versions?.found == 1, "\(error)")
        let other = try Fixtures.unmanagedDatabase(version: 3, in: directory, name: "other.db")
        try DatabaseQueue(path: other).write { try $0.execute(sql: "DROP INDEX vms_identity") }
        let before = try Fixtures.fileHash(other)
        let refusal = try #require(throws: StoreError.self) { try VMStore(path: other) }
        #expect(refusal.code == .notManaged && "\(refusal)".contains("vmdb migrate"), "\(refusal)")
        #expect(try Fixtures.fileHash(other) == before)
    }

    /// A unique index on an expression (which pragma_index_info lists with no column name) is
    /// not the identity key: the file still opens at its version, or is refused as not managed
    /// when its identity key is gone, a StoreError either way (it was GRDB's decoding error).
    @Test func aUniqueIndexOnAnExpressionNeitherHidesTheVersionNorEscapesAsAnotherError() throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.unmanagedDatabase(version: 3, in: directory)
        try DatabaseQueue(path: path).write { try $0.execute(sql: "CREATE UNIQUE INDEX vms_lower_name ON vms (lower(name), network)") }
        let store = try VMStore(path: path)
        try store.provision(NewVM(identity: try VMIdentity(network: "main", vmID: "005o"), name: "a", status: .running))
        #expect(try store.count() == 1)
        try store.close()
        try DatabaseQueue(path: path).write { try $0.execute(sql: "DROP INDEX vms_identity") }
        let before = try Fixtures.fileHash(path)
        let refusal = try #require(throws: StoreError.self) { try VMStore(path: path) }
        #expect(refusal.code == .notManaged, "\(refusal)")
        #expect(try Fixtures.fileHash(path) == before)
    }

    /// What the store relies on is part of the shape it recognises, as for `vmdb migrate`: the
    /// events' foreign key that deletes them with their VM, and v3's vm_repairs. Without one,
    /// the file is not managed (a delete would otherwise leave events, or a repair fail).
    @Test(arguments: [
        (3, "DROP TABLE vm_repairs"),
        (3, "ALTER TABLE vm_events RENAME TO vm_events_old; CREATE TABLE vm_events (id INTEGER PRIMARY KEY, vm_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, detail TEXT, network TEXT NOT NULL, FOREIGN KEY (network, vm_id) REFERENCES vms(network, vm_id)); DROP TABLE vm_events_old"),
        (2, "ALTER TABLE vm_events RENAME TO vm_events_old; CREATE TABLE vm_events (id INTEGER PRIMARY KEY, vm_id TEXT NOT NULL REFERENCES vms(vm_id), kind TEXT NOT NULL, at TEXT NOT NULL, detail TEXT); DROP TABLE vm_events_old"),
    ])
    func anUnmanagedFileWithoutWhatTheStoreReliesOnIsNotManaged(version: Int, change: String) throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.unmanagedDatabase(version: version, in: directory)
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON")
            try db.execute(sql: change)
        }
        let before = try Fixtures.fileHash(path)
        let refusal = try #require(throws: StoreError.self) { try VMStore(path: path) }
        #expect(refusal.code == .notManaged, "\(refusal)")
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aDatabaseMigratedFromV1IsOpenedWithItsRecords() throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        var options = MigrationOptions()
        options.parameters = ["default_network": "qa"]
        options.takesBackup = false
        _ = try Fixtures.migrator.migrate(path: path, options: options)
        let store = try VMStore(path: path)
        #expect(try store.count(network: "qa") == 8)
        let record = try store.vm(.ref("005o"))
        #expect(record.identity == .id("qa", "005o"))
        #expect(record.origin == .provision)
        #expect(try store.events(of: .ref("005o")).map(\.kind) == ["created", "started"])
    }
}
