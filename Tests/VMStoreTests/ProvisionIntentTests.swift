import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport
import VMStore

/// The create path through provision intents (schema v4): begin before the daemon
/// call, complete (the VM and the intent's close in one transaction) or fail after it.
@Suite struct ProvisionIntentTests {
    static let request = try! ProvisionRequest(network: "main", requestID: "req-1", name: "web-1", nodeID: 7, cpu: 2, memoryMB: 4096, diskGB: 50)

    static func store(version: Int = 4, in directory: TemporaryDirectory) throws -> (VMStore, String) {
        let path = try Fixtures.database(version: version, in: directory)
        return (try VMStore(path: path, options: .init(clock: { StoreFixture.fixedNow })), path)
    }

    static func rows(_ path: String) throws -> (intents: [Row], vms: Int) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (try Row.fetchAll(db, sql: "SELECT network, request_id, state, vm_id, lease_owner, lease_expires_at FROM provision_intents ORDER BY id"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM vms") ?? -1)
        }
    }

    @Test func beginIsDurableAndARetryReturnsTheSameIntent() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(in: directory)
        defer { try? store.close() }
        let first = try store.beginProvision(Self.request, owner: "deployer-a", lease: 60)
        #expect(first.state == .pending && first.vmID == nil && first.leaseOwner == "deployer-a")
        #expect(first.leaseExpiresAt == Timestamp.string(from: StoreFixture.fixedNow.addingTimeInterval(60)))
        // Another connection sees it: committed before the daemon is called.
        var (intents, vms) = try Self.rows(path)
        #expect(intents.count == 1 && vms == 0)
        #expect(intents.first?["state"] as String? == "pending")

        // The same request again (a retry after a restart): the same intent, leased to the new owner.
        let again = try store.beginProvision(Self.request, owner: "deployer-b", lease: 30)
        #expect(again.request == first.request && again.createdAt == first.createdAt && again.leaseOwner == "deployer-b")
        (intents, vms) = try Self.rows(path)
        #expect(intents.count == 1)
        #expect(intents.first?["lease_owner"] as String? == "deployer-b")
    }

    @Test func theSameRequestIDForAnotherRequestIsRefusedAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(in: directory)
        defer { try? store.close() }
        try store.beginProvision(Self.request, owner: "a")
        var other = Self.request
        other.cpu = 4
        other.name = "web-2"
        do {
            try store.beginProvision(other, owner: "a")
            Issue.record("a reused request id was accepted")
        } catch let error as StoreError {
            #expect(error.code == .requestIDReused)
            #expect(error.fields == ["name", "cpu"])
            #expect(error.request?.requestID == "req-1")
            #expect(error.description.contains("req-1") && error.description.contains("new id"))
        }
        let (intents, _) = try Self.rows(path)
        #expect(intents.count == 1)
        // The same id on another network is another request.
        var elsewhere = other
        elsewhere.network = "qa"
        #expect(try store.beginProvision(elsewhere, owner: "a").state == .pending)
    }

    @Test func completeRecordsTheVMAndClosesTheIntentInOneTransactionAndIsIdempotent() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(in: directory)
        defer { try? store.close() }
        try store.beginProvision(Self.request, owner: "a")
        let vm = NewVM.sample("main", "c1")
        let record = try store.completeProvision(requestID: "req-1", vm: vm)
        #expect(record.identity == .id("main", "c1") && record.origin == .provision)
        var (intents, vms) = try Self.rows(path)
        #expect(vms == 1)
        #expect(intents.first?["state"] as String? == "recorded" && intents.first?["vm_id"] as String? == "c1")
        #expect(intents.first?["lease_owner"] as String? == nil)

        // Again (a lost acknowledgement): the same record, nothing written.
        #expect(try store.completeProvision(requestID: "req-1", vm: vm).rowID == record.rowID)
        (intents, vms) = try Self.rows(path)
        #expect(vms == 1 && intents.count == 1)
        // Another vm id for the same request: refused, nothing written.
        #expect(storeErrorCode { try store.completeProvision(requestID: "req-1", vm: .sample("main", "c2")) } == .intentConflict)
        #expect(try Self.rows(path).vms == 1)
        // A request never begun.
        #expect(storeErrorCode { try store.completeProvision(requestID: "req-9", vm: .sample("main", "c9")) } == .intentNotFound)
        #expect(try Self.rows(path).vms == 1)
    }

    @Test func aFailedRecordLeavesTheIntentPendingAndNoVM() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(in: directory)
        defer { try? store.close() }
        try store.provision(.sample("main", "c1"))   // recorded already: the intent's transaction must roll back whole
        try store.beginProvision(Self.request, owner: "a")
        // The VM is recorded already (repair recorded it as an orphan, say): complete keeps it, and closes the intent.
        let record = try store.completeProvision(requestID: "req-1", vm: .sample("main", "c1"))
        #expect(record.identity == .id("main", "c1"))
        #expect(try Self.rows(path).intents.first?["state"] as String? == "recorded")

        // A write that fails inside the transaction rolls the intent's close back with it.
        var second = Self.request
        second.requestID = "req-2"
        try store.beginProvision(second, owner: "a")
        #expect(throws: CancellationError.self) {
            try store.write { writer in
                try writer.completeProvision(requestID: "req-2", vm: .sample("main", "c2"))
                throw CancellationError()   // whatever fails after it in the same transaction
            }
        }
        let (intents, vms) = try Self.rows(path)
        #expect(vms == 1)
        #expect(intents.last?["state"] as String? == "pending" && intents.last?["vm_id"] as String? == nil)
    }

    @Test func failClosesAPendingIntentAndRefusesARecordedOne() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(in: directory)
        defer { try? store.close() }
        try store.beginProvision(Self.request, owner: "a")
        let failed = try store.failProvision(network: "main", requestID: "req-1", reason: "no capacity")
        #expect(failed.state == .failed && failed.detail == "no capacity" && failed.leaseOwner == nil)
        #expect(try store.failProvision(network: "main", requestID: "req-1", reason: "again").detail == "no capacity")
        // A retried begin returns the failed intent: the caller uses a new request id.
        #expect(try store.beginProvision(Self.request, owner: "b").state == .failed)

        var second = Self.request
        second.requestID = "req-2"
        try store.beginProvision(second, owner: "a")
        try store.completeProvision(requestID: "req-2", vm: .sample("main", "c2"))
        #expect(storeErrorCode { try store.failProvision(network: "main", requestID: "req-2", reason: "late") } == .intentConflict)
        #expect(try Self.rows(path).intents.last?["state"] as String? == "recorded")
        #expect(storeErrorCode { try store.failProvision(network: "main", requestID: "nope", reason: "x") } == .intentNotFound)
    }

    @Test func openIntentsOlderThanAnAgeAreListedOldestFirst() throws {
        let directory = try TemporaryDirectory("intents")
        let path = try Fixtures.database(version: 4, in: directory)
        let now = LockedDate(StoreFixture.fixedNow)
        let store = try VMStore(path: path, options: .init(clock: { now.value }))
        defer { try? store.close() }
        for n in 1...3 {
            var request = Self.request
            request.requestID = "req-\(n)"
            try store.beginProvision(request, owner: "a")
            now.advance(100)
        }
        try store.completeProvision(requestID: "req-2", vm: .sample("main", "c2"))
        // now = start + 300: req-1 is 300 s old, req-3 100 s.
        #expect(try store.openProvisionIntents(olderThan: 0).map(\.requestID) == ["req-1", "req-3"])
        #expect(try store.openProvisionIntents(olderThan: 150).map(\.requestID) == ["req-1"])
        #expect(try store.openProvisionIntents(olderThan: 1000).isEmpty)
        #expect(try store.provisionIntents(state: .recorded).map(\.vmID) == ["c2"])
        #expect(try store.provisionIntentCounts() == [.pending: 2, .recorded: 1])
    }

    @Test(arguments: [2, 3])
    func belowVersion4TheIntentCallsSayV4IsNeededAndTheRestWorks(version: Int) throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(version: version, in: directory)
        defer { try? store.close() }
        let before = try Fixtures.fileHash(path)
        do {
            try store.beginProvision(Self.request, owner: "a")
            Issue.record("an intent was begun on v\(version)")
        } catch let error as StoreError {
            #expect(error.code == .schemaTooOld)
            #expect(error.versions?.found == version && error.versions?.expected == 4)
            #expect(error.description.contains("vmdb migrate"))
        }
        #expect(try Fixtures.fileHash(path) == before)
        #expect(storeErrorCode { _ = try store.openProvisionIntents() } == .schemaTooOld)
        #expect(storeErrorCode { try store.completeProvision(requestID: "r", vm: .sample("main", "c1")) } == .schemaTooOld)
        #expect(try store.count() == 0)
        // Every other call works.
        try store.provision(.sample("main", "c1"))
        try store.recordStatus(.stopped, for: .ref("c1", "main"))
        #expect(try store.vm(.id("main", "c1"))?.status == .stopped)
    }

    @Test func theAsyncFormsOnTheDeployersPoolDoTheSame() async throws {
        let directory = try TemporaryDirectory("intents")
        let path = try Fixtures.database(version: 4, in: directory)
        let pool = try DatabasePool(path: path)
        let store = try VMStore(writer: pool, clock: { StoreFixture.fixedNow })
        #expect(store.databaseSchemaVersion == 4)
        try await store.beginProvision(Self.request, owner: "a")
        #expect(try await store.openProvisionIntents().map(\.requestID) == ["req-1"])
        try await store.completeProvision(requestID: "req-1", vm: .sample("main", "c1"))
        #expect(try await store.openProvisionIntents().isEmpty)
        #expect(try await store.provisionIntent(network: "main", requestID: "req-1")?.state == .recorded)
        var second = Self.request
        second.requestID = "req-2"
        try await store.beginProvision(second, owner: "a")
        #expect(try await store.failProvision(network: "main", requestID: "req-2", reason: "no").state == .failed)
        let closed = try await pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM provision_intents WHERE state IN ('recorded', 'failed')") }
        #expect(closed == 2)
        try pool.close()
    }

    @Test func aStoreOpenOnV3UsesIntentsFromItsNextTransactionAfterMigrate() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(version: 3, in: directory)
        defer { try? store.close() }
        #expect(storeErrorCode { try store.beginProvision(Self.request, owner: "a") } == .schemaTooOld)
        var options = MigrationOptions()
        options.takesBackup = false
        _ = try Fixtures.migrator.migrate(path: path, options: options)
        #expect(try store.beginProvision(Self.request, owner: "a").state == .pending)
        #expect(store.databaseSchemaVersion == 4)
    }

    @Test func aNULInTheNameIsRefusedAndNothingIsWritten() throws {
        let directory = try TemporaryDirectory("intents")
        let (store, path) = try Self.store(in: directory)
        defer { try? store.close() }
        var request = Self.request
        request.name = "web\u{0}1"
        #expect(storeErrorCode { try store.beginProvision(request, owner: "a") } == .unstorableText)
        #expect(try Self.rows(path).intents.isEmpty)
    }

    @Test func aRequestIDThatCannotBeKeptIsRefused() {
        #expect(throws: StoreError.self) { try ProvisionRequest(network: "main", requestID: "", name: "x") }
        #expect(throws: StoreError.self) { try ProvisionRequest(network: "main", requestID: "a\u{1}b", name: "x") }
        #expect(throws: StoreError.self) { try ProvisionRequest(network: "ma in", requestID: "r", name: "x") }
    }
}

/// A clock a test moves by hand.
final class LockedDate: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private var date: Date
    init(_ date: Date) { self.date = date }
    var value: Date { lock.withLock { date } }
    func advance(_ seconds: TimeInterval) { lock.withLock { date = date.addingTimeInterval(seconds) } }
}
