import Foundation
import Testing
import VMDBTestSupport
import VMRepair
import VMStore

/// Repair on PostgreSQL does what it does on SQLite: the same records and the same daemons'
/// answers (daemon processes, asked live) give the same reports and leave the same rows; and a
/// run that fails part way leaves the database as it was, on either engine.
@Suite struct RepairAcrossEnginesTests {
    static let start = Date(timeIntervalSince1970: 1_795_000_000)

    /// What the deployer recorded: VMs the daemons agree with, one they describe otherwise (drift),
    /// one they no longer list (a ghost), a deleted one, a network no daemon is asked about, and
    /// three interrupted provisions (one VM under its request id, none, two).
    static func seed(_ store: VMStore) throws {
        try store.write { writer in
            try writer.provision(.vm("main", "m1", node: 1, contract: 11))
            try writer.provision(.vm("main", "m2", node: 2, contract: 12))
            try writer.provision(.vm("main", "m3"))
            try writer.provision(.vm("main", "m4", status: .deleted))
            try writer.provision(.vm("qa", "q1"))
            try writer.provision(.vm("other", "o1"))
        }
        for requestID in ["req-a", "req-b", "req-c"] {
            try store.beginProvision(ProvisionRequest(network: "main", requestID: requestID, name: "vm-\(requestID)", cpu: 1),
                                     owner: "deployer", lease: 10)
        }
    }

    static let mainEntries = [
        vmEntry("m1", name: "vm-m1", node: 1, contract: 11),
        vmEntry("m2", name: "vm-m2", status: "stopped", node: 2, contract: 12),
        vmEntry("m4", name: "vm-m4", status: "deleted"),
        vmEntry("z1", name: "web", node: 7, contract: 70, extra: ["ipv4": "185.69.166.7/24", "cpu": 2]),
        vmEntry("z2", name: "db"),
        vmEntry("c-a", name: "vm-req-a", extra: ["request_id": "req-a"]),
        vmEntry("c-c1", extra: ["request_id": "req-c"]),
        vmEntry("c-c2", extra: ["request_id": "req-c"]),
    ]
    static let qaEntries = [vmEntry("q1", name: "vm-q1"), vmEntry("zq", name: "stray", status: "stopped")]

    func options(apply: Bool, clock: TestClock) -> RepairOptions {
        var options = RepairOptions()
        options.apply = apply
        options.takesBackup = false
        options.intentMinimumAge = 60
        options.intentAbandonInterval = 300
        options.clock = { clock.now }
        return options
    }

    /// The report as JSON, without what differs by nature: the database's name and the timings.
    static func comparable(_ report: RepairReport) throws -> String {
        var report = report
        report.database = ""
        report.seconds = 0
        report.inventorySeconds = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    struct Outcome: Equatable, Sendable {
        var reports: [String]
        var rows: [String: [[String?]]]
    }

    /// Report, apply, apply again, on one engine, with the daemons asked live each time.
    func runScenario(on engine: RepairEngine, daemons: [InventorySource]) async throws -> Outcome {
        let clock = TestClock(start: Self.start)
        return try await RepairDatabase.with(engine, clock: { clock.now }) { database in
            try Self.seed(database.store)
            clock.set(120)
            var reports: [RepairReport] = []
            for apply in [false, true, true] {
                reports.append(try await RepairSession(store: database.store, options: options(apply: apply, clock: clock)).run(daemons))
            }

            // What the scenario is: the same on both engines is only worth something if something happened.
            #expect(reports[0].counts == .init(orphans: 3, ghosts: 1, drift: 1), "\(engine)")
            #expect(reports[0].intents?.findings.map(\.resolution) == [.adopt, .firstMiss, .ambiguous])
            #expect(reports[0].networksNotChecked == ["other"])
            #expect(reports[1].applied?.recorded == 3 && reports[1].applied?.intentsAdopted == 1 && reports[1].applied?.intentMissesNoted == 1)
            #expect(reports[2].applied?.recorded == 0 && reports[2].counts.orphans == 0)
            #expect(reports[2].intents?.findings.map(\.resolution) == [.awaitingSecondScan, .ambiguous])
            if engine == .postgres, let password = URLComponents(string: try PostgresTestServer.url())?.password {
                // The report names the database by its URL, the password masked.
                #expect(try reports.map(Self.comparable).allSatisfy { !$0.contains(password) })
                #expect(!reports[0].database.contains(password) && reports[0].database.hasPrefix("postgres://"))
            }
            return Outcome(reports: try reports.map(Self.comparable), rows: try database.rows())
        }
    }

    @Test func theSameRecordsAndDaemonsGiveTheSameReportsAndRowsOnSQLiteAndPostgreSQL() async throws {
        let directory = try TemporaryDirectory("repair-engines")
        let main = try TestDaemon(.inventory(Self.mainEntries), on: .unixSocket(directory: directory.path), name: "main")
        let qa = try TestDaemon(.inventory(Self.qaEntries), on: .loopback, name: "qa")
        defer { main.stop(); qa.stop() }
        let daemons: [InventorySource] = [
            .daemon(.init(network: "main", endpoint: try DaemonEndpoint(parsing: main.endpoint))),
            .daemon(.init(network: "qa", endpoint: try DaemonEndpoint(parsing: qa.endpoint))),
        ]
        let onSQLite = try await runScenario(on: .sqlite, daemons: daemons)
        let onPostgres = try await runScenario(on: .postgres, daemons: daemons)
        for (index, (sqlite, postgres)) in zip(onSQLite.reports, onPostgres.reports).enumerated() {
            #expect(sqlite == postgres, "report \(index + 1) differs")
        }
        for (table, _) in RepairDatabase.comparedTables {
            #expect(onSQLite.rows[table] == onPostgres.rows[table], "\(table) differs")
        }
        #expect(onSQLite.rows["vm_repairs"]?.count == 4)   // three orphans, one adoption
        #expect(main.methods == Array(repeating: "list_vms", count: 6))
    }

    /// An operator's trigger refuses the adoption's audit row: by then the orphans are recorded and
    /// the intent adopted, in the same transaction, so all of it is rolled back.
    @Test(arguments: RepairEngine.allCases)
    func aRunThatFailsAfterItsFirstWritesLeavesEveryRowAsItWas(engine: RepairEngine) async throws {
        let clock = TestClock(start: Self.start)
        try await RepairDatabase.with(engine, clock: { clock.now }) { database in
            try Self.seed(database.store)
            try database.execute(
                sqlite: """
                    CREATE TRIGGER refuse_adoption BEFORE INSERT ON vm_repairs WHEN NEW.action = 'adopted_intent'
                    BEGIN SELECT RAISE(ABORT, 'adoption refused by the test'); END
                    """,
                postgres: [
                    """
                    CREATE FUNCTION refuse_adoption() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.action = 'adopted_intent' THEN RAISE EXCEPTION 'adoption refused by the test'; END IF;
                        RETURN NEW;
                    END $$
                    """,
                    "CREATE TRIGGER refuse_adoption BEFORE INSERT ON vm_repairs FOR EACH ROW EXECUTE FUNCTION refuse_adoption()",
                ])
            let directory = try TemporaryDirectory("repair-failure")
            let inventory = directory.file("main.json")
            try Data(inventoryDocument(Self.mainEntries, network: "main").utf8).write(to: URL(fileURLWithPath: inventory))
            clock.set(120)
            let before = try database.rows()

            let error = await #expect(throws: RepairError.self) {
                try await RepairSession(store: database.store, options: options(apply: true, clock: clock)).run([.file(path: inventory, network: nil)])
            }
            #expect(error?.kind == .internalFailure)
            #expect(error?.message.contains("rolled back") == true && error?.message.contains("adoption refused by the test") == true, "\(String(describing: error))")
            #expect(try database.rows() == before)
        }
    }

    /// An orphan whose entry the store cannot keep (a NUL in its name) comes after another orphan
    /// was recorded in the transaction: refused as bad input, and nothing is left of the run.
    @Test(arguments: RepairEngine.allCases)
    func anOrphanTheStoreCannotKeepLeavesNothingOfTheRun(engine: RepairEngine) async throws {
        let clock = TestClock(start: Self.start)
        try await RepairDatabase.with(engine, clock: { clock.now }) { database in
            try Self.seed(database.store)
            let directory = try TemporaryDirectory("repair-nul")
            let inventory = directory.file("main.json")
            let entries = [vmEntry("z1", name: "web"), vmEntry("z2", name: "bad\u{0}name")]
            try Data(inventoryDocument(entries, network: "main").utf8).write(to: URL(fileURLWithPath: inventory))
            clock.set(120)
            let before = try database.rows()

            let error = await #expect(throws: RepairError.self) {
                try await RepairSession(store: database.store, options: options(apply: true, clock: clock)).run([.file(path: inventory, network: nil)])
            }
            #expect(error?.kind == .malformedInput)
            #expect(error?.message.contains("main/z2") == true, "\(String(describing: error))")
            #expect(try database.rows() == before)
        }
    }

    /// On PostgreSQL repair cannot back the database up itself: asked to, it records nothing unless
    /// the caller's backup ran first.
    @Test func onPostgreSQLApplyTakesTheCallersBackupOrRecordsNothing() async throws {
        let clock = TestClock(start: Self.start)
        try await RepairDatabase.with(.postgres, clock: { clock.now }) { database in
            try Self.seed(database.store)
            let directory = try TemporaryDirectory("repair-backup")
            let inventory = directory.file("main.json")
            try Data(inventoryDocument([vmEntry("z1", name: "web")], network: "main").utf8).write(to: URL(fileURLWithPath: inventory))
            let before = try database.rows()
            var options = options(apply: true, clock: clock)
            options.takesBackup = true

            let error = await #expect(throws: RepairError.self) {
                try await RepairSession(store: database.store, options: options).run([.file(path: inventory, network: nil)])
            }
            #expect(error?.kind == .usage && error?.message.contains("--no-backup") == true)
            #expect(try database.rows() == before)

            let backups = Counter()
            options.takeBackup = {
                backups.increment()
                return nil
            }
            let report = try await RepairSession(store: database.store, options: options).run([.file(path: inventory, network: nil)])
            #expect(backups.value == 1)
            #expect(report.applied?.recorded == 1)
        }
    }

    /// Repair's time on each engine at scale (BENCHMARKS.md): `VMDB_REPAIR_SCALE=100000`. The records
    /// are made in SQL (the test's own statements), the inventory lists all but 100 and 100 more.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VMDB_REPAIR_SCALE"] != nil), arguments: RepairEngine.allCases)
    func repairAtScale(engine: RepairEngine) async throws {
        let count = Int(ProcessInfo.processInfo.environment["VMDB_REPAIR_SCALE"] ?? "") ?? 100_000
        let directory = try TemporaryDirectory("repair-scale")
        let inventory = directory.file("main.json")
        let entries = (100..<(count + 100)).map { vmEntry("vm-\($0)", name: "vm-\($0)") }
        try Data(inventoryDocument(entries, network: "main").utf8).write(to: URL(fileURLWithPath: inventory))
        let clock = TestClock(start: Self.start)
        try await RepairDatabase.with(engine, clock: { clock.now }) { database in
            try database.execute(
                sqlite: """
                    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(count - 1))
                    INSERT INTO vms (network, vm_id, name, status, created_at, updated_at, origin)
                    SELECT 'main', 'vm-' || i, 'vm-' || i, 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'provision' FROM n
                    """,
                postgres: ["""
                    INSERT INTO vms (network, vm_id, name, status, created_at, updated_at, origin)
                    SELECT 'main', 'vm-' || i, 'vm-' || i, 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'provision'
                    FROM generate_series(0, \(count - 1)) AS i
                    """])
            var options = options(apply: false, clock: clock)
            let report = try await RepairSession(store: database.store, options: options).run([.file(path: inventory, network: nil)])
            #expect(report.counts == .init(orphans: 100, ghosts: 100, drift: 0))
            options.apply = true
            let applied = try await RepairSession(store: database.store, options: options).run([.file(path: inventory, network: nil)])
            #expect(applied.applied?.recorded == 100)
            print("repair at scale, \(engine), \(count) VMs: report \(report.seconds) s (inventory \(report.inventorySeconds) s), apply \(applied.seconds) s")
        }
    }

    final class Counter: @unchecked Sendable {
        // @unchecked: every access holds the lock.
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        func increment() { lock.withLock { count += 1 } }
    }
}
