import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// The store's writes on the deployer's own connections reach GRDB's observers (issue 22):
/// provision and delete step their statements through the C API, which GRDB cannot see,
/// so they notify the tables they changed themselves.
@Suite struct StoreObservationTests {
    /// Counts the commits in which `tables` (by default `vms` or `vm_events`) changed, as a TransactionObserver hears them.
    final class VMTablesObserver: TransactionObserver, @unchecked Sendable {
        // @unchecked: touched only on the writer's serial queue, read by the test after each write returns.
        private var changed = false
        private(set) var commitsWithChanges = 0
        let tables: Set<String>

        init(tables: Set<String> = ["vms", "vm_events"]) { self.tables = tables }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
            tables.contains(eventKind.tableName.lowercased())
        }
        func databaseDidChange() { changed = true }
        func databaseDidChange(with event: DatabaseEvent) { changed = true }
        func databaseWillCommit() throws {}
        func databaseDidCommit(_ db: Database) {
            if changed { commitsWithChanges += 1 }
            changed = false
        }
        func databaseDidRollback(_ db: Database) { changed = false }
    }

    @Test(arguments: StoreOnDeployerConnectionsTests.Kind.allCases)
    func everyWriteIsHeardByTheDeployersObservers(kind: StoreOnDeployerConnectionsTests.Kind) throws {
        let directory = try TemporaryDirectory("observation")
        let path = try Fixtures.database(version: 3, in: directory)
        let writer = try kind.open(path)
        let observer = VMTablesObserver()
        writer.add(transactionObserver: observer, extent: .databaseLifetime)
        let store = try VMStore(writer: writer)

        try store.provision(.sample("main", "005o"))
        #expect(observer.commitsWithChanges == 1, "provision")
        try store.write { writer in
            try writer.provision(.sample("qa", "005o"))
            try writer.provision(.sample("qa", "0069"))
        }
        #expect(observer.commitsWithChanges == 2, "provisions in one transaction")
        _ = try store.recordEvent("started", for: .ref("005o", "qa"))
        #expect(observer.commitsWithChanges == 3, "event")
        try store.delete(.ref("005o", "qa"))
        #expect(observer.commitsWithChanges == 4, "delete")
        // A refused write changes nothing and is not reported as a change.
        #expect(throws: StoreError.self) { try store.provision(.sample("main", "005o")) }
        #expect(observer.commitsWithChanges == 4, "refused provision")

        // ValueObservation, as a deployer's UI would use it, sees the store's provision.
        let counts = CountRecorder()
        let cancellable = ValueObservation.tracking { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") ?? -1 }
            .start(in: writer, scheduling: .async(onQueue: DispatchQueue(label: "observation")), onError: { _ in }, onChange: { counts.append($0) })
        // The observation starts asynchronously (on a pool, a reader's fetch, then the
        // writer's): it is surely listening once it has heard a write GRDB itself ran. Only
        // then does the store provision, so a fetch that merely started late cannot pass.
        let deadline = Date().addingTimeInterval(10)
        while counts.last != 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        try writer.write { try $0.execute(sql: "DELETE FROM vms WHERE network = 'qa' AND vm_id = '0069'") }
        while counts.last != 1 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(counts.last == 1, "values seen before the store's write: \(counts.all)")
        try store.provision(.sample("dev", "0100"))
        while counts.last != 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(counts.last == 2, "values seen: \(counts.all)")
        cancellable.cancel()
        try store.close()
        try writer.close()
    }

    /// A table only an operator's trigger writes (an audit row per deleted VM): its observers
    /// hear of a store delete too, though the store never names the table.
    @Test(arguments: StoreOnDeployerConnectionsTests.Kind.allCases)
    func aTableAnOperatorTriggerWritesIsHeardToo(kind: StoreOnDeployerConnectionsTests.Kind) throws {
        let directory = try TemporaryDirectory("observation-trigger")
        let path = try Fixtures.database(version: 3, in: directory)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                CREATE TABLE vm_audit (network TEXT, vm_id TEXT, kind TEXT);
                CREATE TRIGGER vms_deleted AFTER DELETE ON vms BEGIN INSERT INTO vm_audit VALUES (OLD.network, OLD.vm_id, 'deleted'); END;
                """)
        }
        let writer = try kind.open(path)
        let store = try VMStore(writer: writer)
        try store.provision(.sample("main", "005o"))
        let observer = VMTablesObserver(tables: ["vm_audit"])
        writer.add(transactionObserver: observer, extent: .databaseLifetime)
        try store.delete(.ref("005o", "main"))
        #expect(observer.commitsWithChanges == 1, "delete with an audit trigger")
        #expect(try writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vm_audit") } == 1)
        try store.close()
        try writer.close()
    }

    final class CountRecorder: @unchecked Sendable {
        // @unchecked: every access holds the lock.
        private let lock = NSLock()
        private var values: [Int] = []
        func append(_ value: Int) { lock.withLock { values.append(value) } }
        var all: [Int] { lock.withLock { values } }
        var last: Int? { all.last }
    }
}
