import Foundation
import GRDB
import GRDBSQLite
import Testing
import VMDBTestSupport
import VMStore

/// `write { … }` for other modules, and sharing one store across tasks.
@Suite struct StoreTransactionTests {
    struct Abort: Error {}

    @Test func aWriteCommitsTheStoresWritesAndStatementsOfItsOwnTogether() throws {
        let fixture = try StoreFixture()
        let recorded = try fixture.store.write { writer in
            let record = try writer.provision(.sample("main", "005o"), origin: .repair)
            try writer.database.execute(
                sql: "INSERT INTO vm_repairs (network, vm_id, action, source, entry, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [record.network, record.vmID, "recorded", "inventory.json", "{}", record.createdAt])
            return record
        }
        #expect(recorded.origin == .repair)
        #expect(try fixture.store.vm(.ref("005o")).origin == .repair)
        let audit = try fixture.rawQueue().read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_repairs") }
        #expect(audit == 1)
    }

    /// SQLite may roll a transaction back on its own (SQLITE_FULL, SQLITE_IOERR). A body that goes
    /// on after that must not write in autocommit mode, one committed statement at a time.
    @Test func writesAfterTheTransactionIsGoneAreRefusedNotAutocommitted() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("qa", "0071"))
        var refusals: [String] = []
        #expect(throws: (any Error).self) {
            try fixture.store.write { writer in
                try writer.database.execute(sql: "ROLLBACK")   // as SQLite does after a full disk
                do { try writer.provision(.sample("main", "005o")) } catch { refusals.append("\(error)") }
                do { try writer.delete(.ref("0071", "qa")) } catch { refusals.append("\(error)") }
            }
        }
        #expect(refusals.count == 2)
        #expect(refusals.allSatisfy { $0.contains("rolled back by an earlier failure") }, "\(refusals)")
        #expect(try fixture.store.count() == 1)
        #expect(try fixture.store.vm(.id("qa", "0071")) != nil)
    }

    /// A value SQLite refuses to bind (here: over the connection's length limit) must fail the
    /// write, never leave the parameter NULL and commit the row without it.
    @Test func aValueThatCannotBeBoundFailsTheWrite() throws {
        let fixture = try StoreFixture()
        try fixture.store.write { writer in _ = sqlite3_limit(writer.database.sqliteConnection, SQLITE_LIMIT_LENGTH, 1000) }
        var big = NewVM.sample("main", "005o")
        big.metadata = String(repeating: "m", count: 5000)
        #expect(throws: (any Error).self) { try fixture.store.provision(big) }
        #expect(try fixture.store.count() == 0)
    }

    @Test func aThrowingBodyLeavesNothingBehind() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("qa", "0071"))
        #expect(throws: Abort.self) {
            try fixture.store.write { writer in
                try writer.provision(.sample("main", "005o"), origin: .repair)
                try writer.database.execute(
                    sql: "INSERT INTO vm_repairs (network, vm_id, action, source, entry, recorded_at) VALUES ('main', '005o', 'recorded', 's', '{}', 'now')")
                try writer.recordStatus(.stopped, for: .ref("0071"))
                throw Abort()
            }
        }
        #expect(try fixture.store.count() == 1)
        #expect(try fixture.store.vm(.ref("0071")).status == .running)
        let audit = try fixture.rawQueue().read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_repairs") }
        #expect(audit == 0)
    }

    @Test func aDuplicateInsideAWriteIsTypedAndTheTransactionCanGoOn() throws {
        let fixture = try StoreFixture()
        try fixture.store.provision(.sample("main", "005o"))
        let outcome = try fixture.store.write { writer -> StoreError.Code? in
            let code = storeErrorCode { try writer.provision(.sample("main", "005o")) }
            // The failed INSERT alone was undone; the transaction continues.
            try writer.provision(.sample("qa", "005o"), origin: .repair)
            return code
        }
        #expect(outcome == .alreadyRecorded)
        #expect(try fixture.store.count() == 2)
    }

    @Test func theWriterSeesItsOwnWritesAndReadersDoNotUntilCommit() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        try store.write { writer in
            try writer.provision(.sample("main", "005o"))
            #expect(try writer.vm(.id("main", "005o")) != nil)
            #expect(try writer.resolve(.ref("005o")) == .id("main", "005o"))
            // Another thread reads the last committed state meanwhile, unblocked (WAL).
            let seenOutside = DispatchQueue.global().sync { try? store.count() }
            #expect(seenOutside == 0)
        }
        #expect(try store.count() == 1)
    }

    @Test func aUniqueIndexAnOperatorAddedIsNotReportedAsTheIdentity() throws {
        let fixture = try StoreFixture()
        try fixture.rawQueue().write { db in try db.execute(sql: "CREATE UNIQUE INDEX operator_contract ON vms(contract_id)") }
        try fixture.store.provision(.sample("main", "005o"))
        #expect {
            try fixture.store.provision(.sample("qa", "0071"))   // same contract id, different pair
        } throws: { error in
            (error as? StoreError).map { $0.code != .alreadyRecorded } ?? false
        }
        #expect(try fixture.store.count() == 1)
    }

    @Test func concurrentReadersAndAWriterFromSeveralTasks() async throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let networks = ["main", "qa", "test", "dev"]
        let perNetwork = 60
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Writers: one task per network, interleaving on the single write connection.
            for network in networks {
                group.addTask {
                    for n in 0..<perNetwork {
                        let id = String(n, radix: 36)
                        try store.provision(.sample(network, id))
                        if n % 3 == 0 { try store.recordInstalledVersion("v\(n)", for: .ref(id, network)) }
                    }
                }
            }
            // Readers: every count they see is a committed state, never going back.
            for reader in 0..<4 {
                group.addTask {
                    var last = 0
                    for n in 0..<150 {
                        let count = try store.count()
                        #expect(count >= last && count <= networks.count * perNetwork)
                        last = count
                        let id = String(n % perNetwork, radix: 36)
                        if let record = try store.vm(.id(networks[reader], id)) {
                            #expect(record.identity == .id(networks[reader], id))
                        }
                        let found = try store.vms(withID: id)
                        #expect(Set(found.map(\.network)).count == found.count)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.count() == networks.count * perNetwork)
        for network in networks { #expect(try await store.count(network: network) == perNetwork) }
        #expect(storeErrorCode { _ = try store.vm(.ref("0")) } == .ambiguous)
    }

    @Test func aWriteBlockedPastTheBusyTimeoutIsBusy() throws {
        let directory = try TemporaryDirectory("store")
        let path = try Fixtures.database(version: 3, in: directory)
        let store = try VMStore(path: path, options: .init(busyTimeout: 0.2))
        let holder = try DatabaseQueue(path: path)
        try holder.inDatabase { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            #expect(storeErrorCode { try store.provision(.sample("main", "005o")) } == .busy)
            // Readers are not blocked by another process's write lock.
            #expect(try store.count() == 0)
            try db.execute(sql: "ROLLBACK")
        }
        try store.provision(.sample("main", "005o"))
        #expect(try store.count() == 1)
    }
}
