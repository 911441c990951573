import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// The store on v2 and on v3, and across the migration between them while it is open:
/// the deployer's code ships first, then `vmdb migrate --online` runs beside it.
@Suite struct StoreSchemaSwitchTests {
    static func v2Store(in directory: TemporaryDirectory) throws -> (path: String, store: VMStore) {
        let path = try Fixtures.database(version: 2, in: directory)
        return (path, try VMStore(path: path, options: .init(isDurable: false)))
    }

    /// The synchronous form, from an async test (which would pick the async overload).
    static func provisionBlocking(_ store: VMStore, _ vm: NewVM) throws {
        try store.provision(vm)
    }

    @Test func onV2TheStoreReadsAndWritesByPair() throws {
        let directory = try TemporaryDirectory("store-v2")
        let (path, store) = try Self.v2Store(in: directory)
        #expect(store.databaseSchemaVersion == 2)
        let before = try store.count()
        let record = try store.provision(.sample("main", "zz01"))
        #expect(record.origin == .provision)
        #expect(try store.vm(.id("main", "zz01"))?.name == "vm-zz01")
        #expect(try store.vm(.ref("zz01")).network == "main")
        #expect(try store.vms(withID: "zz01").map(\.network) == ["main"])
        try store.recordStatus(.stopped, for: .ref("zz01", "main"))
        try store.recordEvent("rebooted", detail: "by test", for: .ref("zz01"))
        #expect(try store.events(of: .ref("zz01", "main")).map(\.kind) == ["rebooted"])
        #expect(try store.count() == before + 1)
        #expect(try store.networks().contains("main"))
        #expect(try store.list(network: "main").contains { $0.vmID == "zz01" && $0.status == .stopped })
        // A delete takes its events with it, by v2's ON DELETE CASCADE on vm_id.
        try store.delete(.ref("zz01", "main"))
        #expect(try store.vm(.id("main", "zz01")) == nil)
        let events = try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vm_events WHERE vm_id = 'zz01'") }
        #expect(events == 0)
        // v2 has no column for a repair's origin: refused, nothing written.
        #expect(storeErrorCode { try store.provision(.sample("main", "zz02"), origin: .repair) } == .schemaTooOld)
        #expect(try store.vm(.id("main", "zz02")) == nil)
        try store.close()
    }

    @Test func onV2AnIdAnotherNetworkHasIsRefusedNamingBoth() async throws {
        let directory = try TemporaryDirectory("store-v2")
        let (path, store) = try Self.v2Store(in: directory)
        try await store.provision(.sample("main", "005o"))
        for form in ["sync", "async"] {
            do {
                if form == "sync" { try Self.provisionBlocking(store, .sample("qa", "005o")) } else { _ = try await store.provision(.sample("qa", "005o")) }
                Issue.record("v2 recorded an id another network has (\(form))")
            } catch let error as StoreError {
                #expect(error.code == .idOnAnotherNetwork)
                #expect(error.networks == ["main", "qa"])
                #expect(error.identity == .id("qa", "005o"))
                #expect(error.description.contains("vmdb migrate"), "\(error)")
            }
        }
        #expect(try await store.vms(withID: "005o").map(\.network) == ["main"])
        // A v2 row with no network holds its id too: refused the same way, not as a database failure.
        try await DatabaseQueue(path: path).write {
            try $0.execute(sql: "INSERT INTO vms (vm_id, network, name, created_at, updated_at) VALUES ('zz77', NULL, 'old', 'x', 'x')")
        }
        #expect(storeErrorCode { try store.provision(.sample("main", "zz77")) } == .idOnAnotherNetwork)
        // The same pair again is the usual refusal.
        #expect(storeErrorCode { try store.provision(.sample("main", "005o")) } == .alreadyRecorded)
        try store.close()
    }

    /// The store stays open while another process migrates the file; its next
    /// transaction, write or read, runs v3's statements.
    @Test(arguments: ["offline", "online"])
    func theStoreFollowsAMigrationWhileItIsOpen(mode: String) async throws {
        let directory = try TemporaryDirectory("store-switch")
        let (path, store) = try Self.v2Store(in: directory)
        try await store.provision(.sample("main", "005o"))
        try await store.recordEvent("provisioned", for: .ref("005o", "main"))
        #expect(storeErrorCode { try store.provision(.sample("qa", "005o")) } == .idOnAnotherNetwork)
        #expect(try await store.vm(.ref("005o")).network == "main")   // a reader connection, on v2

        let migrate = try VMDBProcess.run(["migrate", "--db", path, "--no-backup", "--default-network", "main"] + (mode == "online" ? ["--online"] : []))
        #expect(migrate.exitCode == 0, "\(migrate.standardError)")

        // The first read after the switch: a reader connection that last read v2. Its
        // v2 statement would read every origin as 'provision'; it runs v3's instead.
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "UPDATE vms SET origin = 'repair' WHERE vm_id = '005o'") }
        #expect(try await store.vm(.id("main", "005o"))?.origin == .repair)
        // The collision v2 refused inserts now, with no restart.
        let qa = try await store.provision(.sample("qa", "005o"), origin: .repair)
        #expect(qa.origin == .repair)
        // migrate went on to v4 (the latest): the provision intents work in this same store, too.
        #expect(store.databaseSchemaVersion == 4)
        let request = try ProvisionRequest(network: "main", requestID: "after-upgrade", name: "vm-after")
        #expect(try await store.beginProvision(request, owner: "deployer").state == .pending)
        #expect(try await store.vms(withID: "005o").map(\.network) == ["main", "qa"])
        #expect(storeErrorCode { _ = try store.vm(.ref("005o")) } == .ambiguous)
        #expect(try await store.vm(.id("qa", "005o"))?.origin == .repair)
        try await store.recordEvent("provisioned", for: .ref("005o", "qa"))
        #expect(try await store.events(of: .ref("005o", "main")).map(\.kind) == ["provisioned"])
        #expect(try await store.events(of: .ref("005o", "qa")).map(\.kind) == ["provisioned"])
        let verify = try VMDBProcess.run(["verify", "--db", path])
        #expect(verify.exitCode == 0, "\(verify.standardOutput)")
        try store.close()
    }

    /// On the deployer's own pool too (whose readers may come and go: the schema
    /// cookie is read in every transaction there).
    @Test func onTheDeployersPoolTheStoreFollowsTheMigrationToo() throws {
        let directory = try TemporaryDirectory("store-switch-pool")
        let path = try Fixtures.database(version: 2, in: directory)
        let pool = try DatabasePool(path: path)
        let store = try VMStore(writer: pool)
        try store.provision(.sample("main", "005o"))
        #expect(storeErrorCode { try store.provision(.sample("qa", "005o")) } == .idOnAnotherNetwork)
        #expect(try store.vm(.ref("005o")).network == "main")
        let migrate = try VMDBProcess.run(["migrate", "--db", path, "--no-backup", "--online", "--default-network", "main"])
        #expect(migrate.exitCode == 0, "\(migrate.standardError)")
        try pool.write { try $0.execute(sql: "UPDATE vms SET origin = 'repair' WHERE vm_id = '005o'") }
        #expect(try store.vm(.id("main", "005o"))?.origin == .repair)
        try store.provision(.sample("qa", "005o"))
        #expect(try store.vms(withID: "005o").map(\.network) == ["main", "qa"])
        #expect(store.databaseSchemaVersion == 4)
        #expect(try store.beginProvision(ProvisionRequest(network: "main", requestID: "after-upgrade", name: "vm-after"), owner: "deployer").state == .pending)
        try pool.close()
    }

    /// The way back: `vmdb restore` of a v2 backup under an open v3 store. v3's
    /// statements do not even compile on v2; the store looks again and reads v2.
    @Test func aRestoreToV2UnderAnOpenStoreIsFollowedToo() throws {
        let directory = try TemporaryDirectory("store-restore")
        let path = try Fixtures.database(version: 2, in: directory)
        let backup = directory.file("v2.backup")
        try FileManager.default.copyItem(atPath: path, toPath: backup)
        #expect(try VMDBProcess.run(["migrate", "--db", path, "--no-backup", "--default-network", "main"]).exitCode == 0)
        let store = try VMStore(path: path, options: .init(isDurable: false))
        try store.provision(.sample("qa", "zz09"))
        #expect(try store.vm(.id("qa", "zz09")) != nil)   // a reader on v3
        let restore = try VMDBProcess.run(["restore", "--db", path, "--from", backup, "--no-backup"])
        #expect(restore.exitCode == 0, "\(restore.standardError)")
        #expect(try store.vm(.id("qa", "zz09")) == nil)
        #expect(store.databaseSchemaVersion == 2)
        try store.provision(.sample("qa", "zz09"))
        #expect(try store.vm(.ref("zz09")).network == "qa")
        try store.close()
    }
}
