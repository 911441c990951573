import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport
import VMRepair
import VMStore

/// Repair against real JSON-RPC daemons on a Unix socket and on loopback.
@Suite struct LiveDaemonTests {
    /// For the client inside the test process: long synchronous tests running beside it can hold
    /// every cooperative thread for minutes, and these tests are about what the answer says, not when.
    static let patientTimeout = 600.0

    enum Wire: String, CaseIterable, CustomTestStringConvertible {
        case unixSocket, loopback
        var testDescription: String { rawValue }
        func transport(_ directory: TemporaryDirectory) -> TestDaemon.Transport {
            switch self {
            case .unixSocket: .unixSocket(directory: directory.path)
            case .loopback: .loopback
            }
        }
    }

    /// The mission's collision: a v2 deployer holds qa/005o; mainnet's daemon
    /// runs main/005o, whose insert was rejected, so it was never recorded.
    @Test("collision orphan: reported, recorded by --apply, then nothing", arguments: Wire.allCases)
    func collisionScenarioEndToEnd(wire: Wire) async throws {
        let directory = try TemporaryDirectory("collision")
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([(network: "qa", id: "005o")], into: path)
        var migration = MigrationOptions()
        migration.takesBackup = false
        _ = try Fixtures.migrator.migrate(path: path, options: migration)

        let orphanEntry = vmEntry("005o", name: "web-main", status: "running", node: 12, contract: 1001,
                                  extra: ["ipv4": "185.69.166.7/24", "created_at": "2026-01-05T10:00:00Z"])
        let mainnet = try TestDaemon(.inventory([orphanEntry]), on: wire.transport(directory), name: "main")
        let qa = try TestDaemon(.inventory([vmEntry("005o", name: "vm-005o", status: "running")]), on: .loopback, name: "qa")
        defer { mainnet.stop(); qa.stop() }
        let config = directory.file("daemons.json")
        try Data(#"{"daemons":[{"network":"main","endpoint":"\#(mainnet.endpoint)"},{"network":"qa","endpoint":"\#(qa.endpoint)"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: config))

        // Report: the orphan is found, nothing is written.
        let before = try Fixtures.fileHash(path)
        let report = try await runVMDB(["repair", "--db", path, "--daemons", config, "--format", "json"])
        #expect(report.exitCode == 3, "\(report.standardError)")
        let reported = try jsonObject(report.standardOutput)
        let orphans = try #require(reported["orphans"] as? [[String: Any]])
        #expect(orphans.count == 1)
        #expect(orphans.first?["network"] as? String == "main")
        #expect(orphans.first?["vm_id"] as? String == "005o")
        #expect(orphans.first?["entry"] as? String == orphanEntry)
        #expect((reported["counts"] as? [String: Int]) == ["orphans": 1, "ghosts": 0, "drift": 0])
        #expect(try Fixtures.fileHash(path) == before)
        #expect(mainnet.methods == ["list_vms"])

        // Apply: recorded with what the daemon said, origin repair, one audit row.
        let applied = try await runVMDB(["repair", "--db", path, "--daemons", config, "--apply", "--backup-dir", directory.path])
        #expect(applied.exitCode == 0, "\(applied.standardError)")
        #expect(applied.standardOutput.contains("recorded 1 orphan"))
        let store = try VMStore(path: path)
        let recorded = try #require(try await store.vm(VMIdentity(network: "main", vmID: "005o")))
        #expect(recorded.origin == .repair)
        #expect(recorded.name == "web-main")
        #expect(recorded.nodeID == 12 && recorded.contractID == 1001)
        #expect(recorded.ipv4 == "185.69.166.7/24")
        #expect(try await store.vm(VMIdentity(network: "qa", vmID: "005o"))?.origin == .provision)
        try store.close()
        let audit = try DatabaseQueue(path: path).read { db in try Row.fetchAll(db, sql: "SELECT * FROM vm_repairs") }
        #expect(audit.count == 1)
        #expect(audit.first?["network"] as String? == "main")
        #expect(audit.first?["vm_id"] as String? == "005o")
        #expect(audit.first?["action"] as String? == "recorded_orphan")
        #expect(audit.first?["source"] as String? == "daemon \(mainnet.endpoint)")
        #expect(audit.first?["entry"] as String? == orphanEntry)
        let backups = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".backup") }
        #expect(backups.count == 1)

        // Again: store and daemons agree, nothing new is recorded.
        let again = try await runVMDB(["repair", "--db", path, "--daemons", config, "--apply", "--backup-dir", directory.path])
        #expect(again.exitCode == 0, "\(again.standardError)")
        #expect(again.standardOutput.contains("store and daemons agree"))
        let check = try await runVMDB(["repair", "--db", path, "--daemons", config])
        #expect(check.exitCode == 0)
        #expect(try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_repairs") } == 1)
    }

    @Test("a daemon that is down: exit 69 naming the network and the endpoint", arguments: Wire.allCases)
    func daemonDown(wire: Wire) async throws {
        let fixture = try RepairFixture()
        let endpoint = try TestDaemon.downEndpoint(on: wire.transport(fixture.directory))
        let config = try fixture.daemonsConfig([(network: "main", endpoint: endpoint)])
        let before = try Fixtures.fileHash(fixture.path)
        let result = try await runVMDB(["repair", "--db", fixture.path, "--daemons", config, "--apply"])
        #expect(result.exitCode == 69)
        #expect(result.standardError.contains("network main"))
        #expect(result.standardError.contains(endpoint.replacingOccurrences(of: "unix://", with: "")))
        #expect(result.standardError.contains("could not connect"))
        #expect(try Fixtures.fileHash(fixture.path) == before)
    }

    @Test("a daemon slower than its timeout: exit 69 saying so", arguments: Wire.allCases)
    func daemonTimesOut(wire: Wire) async throws {
        let fixture = try RepairFixture()
        let daemon = try TestDaemon(.slow(delay: 30, [vmEntry("0001")]), on: wire.transport(fixture.directory))
        defer { daemon.stop() }
        let config = try fixture.daemonsConfig([(network: "qa", endpoint: daemon.endpoint)], timeout: 0.5)
        let result = try await runVMDB(["repair", "--db", fixture.path, "--daemons", config, "--format", "json"])
        #expect(result.exitCode == 69)
        #expect(result.seconds < 15)
        let error = try #require(try jsonObject(result.standardOutput)["error"] as? [String: Any])
        #expect(error["code"] as? Int == 69)
        let message = try #require(error["message"] as? String)
        #expect(message.contains("network qa") && message.contains("within 0.5 s"))
    }

    @Test("a daemon that misbehaves: exit 69 with what it answered", arguments: Wire.allCases, [
        (TestDaemon.Behavior.garbage, "not valid JSON"),
        (.rpcError(code: -32000, message: "database is locked"), "code -32000"),
        (.html, "HTTP 502"),
    ] as [(TestDaemon.Behavior, String)])
    func daemonMisbehaves(wire: Wire, behavior: (TestDaemon.Behavior, String)) async throws {
        let fixture = try RepairFixture()
        let daemon = try TestDaemon(behavior.0, on: wire.transport(fixture.directory))
        defer { daemon.stop() }
        let config = try fixture.daemonsConfig([(network: "dev", endpoint: daemon.endpoint)])
        let before = try Fixtures.fileHash(fixture.path)
        let result = try await runVMDB(["repair", "--db", fixture.path, "--daemons", config, "--apply"])
        #expect(result.exitCode == 69, "\(result.standardError)")
        #expect(result.standardError.contains("network dev"))
        #expect(result.standardError.contains(behavior.1), "\(result.standardError)")
        #expect(try Fixtures.fileHash(fixture.path) == before)
        #expect(daemon.requestCount == 1)
    }

    @Test("the library reports a daemon failure as a typed error naming the daemon")
    func libraryDaemonFailureIsTyped() async throws {
        let fixture = try RepairFixture()
        let daemon = try TestDaemon(.rpcError(code: -32601, message: "Method not found"), on: .loopback)
        defer { daemon.stop() }
        let source = InventorySource.daemon(.init(network: "test", endpoint: try DaemonEndpoint(parsing: daemon.endpoint), timeout: Self.patientTimeout))
        let error = #expect(throws: RepairError.self) { try fixture.session().run([source]) }
        #expect(error?.kind == .daemonUnavailable)
        #expect(error?.message.contains("Method not found") == true)
        #expect(error?.message.contains(daemon.endpoint) == true)
    }

    @Test("a daemon whose answer names another network than the config is refused")
    func daemonOnTheWrongNetwork() async throws {
        let fixture = try RepairFixture()
        let daemon = try TestDaemon(.inventory([vmEntry("0001")], network: "qa"), on: .loopback)
        defer { daemon.stop() }
        let source = InventorySource.daemon(.init(network: "main", endpoint: try DaemonEndpoint(parsing: daemon.endpoint), timeout: Self.patientTimeout))
        let error = #expect(throws: RepairError.self) { try fixture.session(apply: true).run([source]) }
        #expect(error?.message.contains("network qa") == true)
        #expect(try fixture.auditRows().isEmpty)
    }
}
