import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMRepair
import VMStore

/// Repair resolves interrupted provisions (schema v4): a pending intent whose lease ran
/// out is looked up by its request id in the inventory: one VM is adopted, several are
/// reported, none on two scans some time apart abandons it.
@Suite struct IntentRepairTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    struct World {
        let directory: TemporaryDirectory
        let path: String
        let clock = TestClock(start: IntentRepairTests.start)

        init() throws {
            directory = try TemporaryDirectory("intent-repair")
            path = try Fixtures.database(version: 4, in: directory)
        }

        func store() throws -> VMStore {
            let clock = self.clock
            return try VMStore(path: path, options: .init(clock: { clock.now }))
        }

        func begin(_ requestID: String, lease: Double = 10) throws {
            let store = try store()
            defer { try? store.close() }
            try store.beginProvision(ProvisionRequest(network: "main", requestID: requestID, name: "vm-\(requestID)", cpu: 1), owner: "deployer", lease: lease)
        }

        func inventory(_ entries: [String]) throws -> String {
            let file = directory.file("main-\(UUID().uuidString).json")
            try Data(inventoryDocument(entries, network: "main").utf8).write(to: URL(fileURLWithPath: file))
            return file
        }

        func repair(_ inventory: String, apply: Bool, at seconds: Double, minimumAge: Double = 0, abandonAfter: Double = 300) throws -> RepairReport {
            clock.set(seconds)
            var options = RepairOptions()
            options.apply = apply
            options.takesBackup = false
            options.intentMinimumAge = minimumAge
            options.intentAbandonInterval = abandonAfter
            let clock = self.clock
            options.clock = { clock.now }
            return try RepairSession(databasePath: path, options: options).run([.file(path: inventory, network: nil)])
        }

        func intent(_ requestID: String) throws -> Row? {
            try DatabaseQueue(path: path).read { db in
                try Row.fetchOne(db, sql: "SELECT state, vm_id, first_missed_at, lease_owner FROM provision_intents WHERE network = 'main' AND request_id = ?", arguments: [requestID])
            }
        }

        func vms() throws -> [String: String] {
            try DatabaseQueue(path: path).read { db in
                Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT vm_id, origin FROM vms WHERE network = 'main'").map { ($0[0] as String, $0[1] as String) })
            }
        }

        func audits() throws -> [String] {
            try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT action || ' ' || vm_id FROM vm_repairs ORDER BY id") }
        }
    }

    @Test func aLeasedIntentIsLeftAloneThenItsVMIsAdoptedOnceAndOthersStayOrphans() throws {
        let world = try World()
        try world.begin("req-1", lease: 10)
        let inventory = try world.inventory([vmEntry("c1", name: "vm-req-1", extra: ["request_id": "req-1"]), vmEntry("c9", name: "stray")])

        // Within the lease: in progress; its VM is neither adopted nor an orphan.
        var report = try world.repair(inventory, apply: true, at: 5)
        #expect(report.intents?.inProgress == 1 && report.intents?.findings.isEmpty == true)
        #expect(report.counts.orphans == 1 && report.orphans.map(\.vmID) == ["c9"])
        #expect(try world.vms() == ["c9": "repair"])
        #expect(try world.intent("req-1")?["state"] as String? == "pending")

        // The lease ran out: report mode names the adoption and writes nothing.
        let before = try Fixtures.fileHash(world.path)
        report = try world.repair(inventory, apply: false, at: 20)
        #expect(report.intents?.findings.map(\.resolution) == [.adopt])
        #expect(report.intents?.findings.first?.vmIDs == ["c1"])
        #expect(report.needsAction)
        #expect(try Fixtures.fileHash(world.path) == before)

        report = try world.repair(inventory, apply: true, at: 20)
        #expect(report.applied?.intentsAdopted == 1)
        #expect(!report.needsAction)
        #expect(try world.vms() == ["c1": "repair", "c9": "repair"])
        let intent = try #require(try world.intent("req-1"))
        #expect(intent["state"] as String? == "adopted" && intent["vm_id"] as String? == "c1" && intent["lease_owner"] as String? == nil)
        #expect(try world.audits() == ["recorded_orphan c9", "adopted_intent c1"])

        // Again: nothing to do, nothing written.
        let after = try Fixtures.fileHash(world.path)
        report = try world.repair(inventory, apply: true, at: 30)
        #expect(report.intents?.findings.isEmpty == true && report.applied?.intentsAdopted == 0 && !report.hasFindings)
        #expect(try Fixtures.fileHash(world.path) == after)
    }

    @Test func anIntentNoInventoryListsIsAbandonedOnlyOnASecondMissLongEnoughAfterTheFirst() throws {
        let world = try World()
        try world.begin("req-2", lease: 1)
        let empty = try world.inventory([])

        var report = try world.repair(empty, apply: true, at: 60, abandonAfter: 300)
        #expect(report.intents?.findings.map(\.resolution) == [.firstMiss])
        #expect(report.applied?.intentMissesNoted == 1 && report.needsAction)
        let firstMiss = try #require(try world.intent("req-2")?["first_missed_at"] as String?)
        #expect(firstMiss == Timestamp.string(from: Self.start.addingTimeInterval(60)))

        // Too soon: left pending, first miss kept.
        report = try world.repair(empty, apply: true, at: 200, abandonAfter: 300)
        #expect(report.intents?.findings.map(\.resolution) == [.awaitingSecondScan])
        #expect(try world.intent("req-2")?["state"] as String? == "pending")
        #expect(try world.intent("req-2")?["first_missed_at"] as String? == firstMiss)

        report = try world.repair(empty, apply: true, at: 400, abandonAfter: 300)
        #expect(report.applied?.intentsAbandoned == 1 && !report.needsAction)
        #expect(try world.intent("req-2")?["state"] as String? == "abandoned")
        #expect(try world.vms().isEmpty && world.audits().isEmpty)
    }

    @Test func aVMThatShowsUpAfterAFirstMissIsAdopted() throws {
        let world = try World()
        try world.begin("req-3", lease: 1)
        _ = try world.repair(try world.inventory([]), apply: true, at: 60)
        let report = try world.repair(try world.inventory([vmEntry("c3", extra: ["request_id": "req-3"])]), apply: true, at: 70)
        #expect(report.applied?.intentsAdopted == 1)
        #expect(try world.intent("req-3")?["state"] as String? == "adopted")
    }

    @Test func severalVMsUnderOneRequestIDAreReportedAndNothingChanges() throws {
        let world = try World()
        try world.begin("req-4", lease: 1)
        let inventory = try world.inventory([vmEntry("c4", extra: ["request_id": "req-4"]), vmEntry("c5", extra: ["request_id": "req-4"])])
        let before = try Fixtures.fileHash(world.path)
        let report = try world.repair(inventory, apply: true, at: 60)
        #expect(report.intents?.findings.first?.resolution == .ambiguous)
        #expect(report.intents?.findings.first?.vmIDs == ["c4", "c5"])
        #expect(report.counts.orphans == 0)   // named in the intents section, not recorded as orphans
        #expect(report.needsAction)
        #expect(try Fixtures.fileHash(world.path) == before)
    }

    @Test func aYoungIntentIsLeftAloneWhateverItsLease() throws {
        let world = try World()
        try world.begin("req-5", lease: 0)
        let report = try world.repair(try world.inventory([]), apply: true, at: 10, minimumAge: 60)
        #expect(report.intents?.inProgress == 1 && report.intents?.findings.isEmpty == true)
        #expect(try world.intent("req-5")?["first_missed_at"] as String? == nil)
    }

    @Test func aV3DatabaseIsRepairedAsBeforeWithNoIntents() throws {
        let directory = try TemporaryDirectory("intent-repair")
        let path = try Fixtures.database(version: 3, in: directory)
        let file = directory.file("main.json")
        try Data(inventoryDocument([vmEntry("c1", extra: ["request_id": "req-1"])], network: "main").utf8).write(to: URL(fileURLWithPath: file))
        var options = RepairOptions()
        options.apply = true
        options.takesBackup = false
        let report = try RepairSession(databasePath: path, options: options).run([.file(path: file, network: nil)])
        #expect(report.intents == nil)
        #expect(report.applied?.recorded == 1)
    }
}
