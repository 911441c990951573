import Foundation
import GRDB
import Testing
import VMDBCommands
import VMDBTestSupport
import VMStore

/// `vmdb vm list|show|delete`: in process (output and exit codes), and the built binary.
@Suite struct VMCommandTests {
    /// A v3 database holding the collision scenario: main/005o and qa/005o, plus a few others.
    struct Scenario {
        let directory: TemporaryDirectory
        let path: String

        init() throws {
            directory = try TemporaryDirectory("vm-command")
            path = try Fixtures.database(version: 3, in: directory)
            let store = try VMStore(path: path)
            defer { try? store.close() }
            func vm(_ network: String, _ id: String, _ name: String, _ status: VMStatus) throws -> NewVM {
                NewVM(identity: try VMIdentity(network: network, vmID: id), name: name, nodeID: 11, status: status, cpu: 2)
            }
            try store.provision(vm("main", "005o", "main-web", .running))
            try store.provision(vm("qa", "005o", "qa-smoke", .running))
            try store.provision(vm("qa", "0071", "qa-load", .error))
            try store.provision(vm("test", "0102", "test-gateway", .stopped))
            try store.recordEvent("created", detail: #"{"by":"twin:88"}"#, for: try VMReference(vmID: "005o", network: "qa"))
        }

        func count(_ sql: String = "SELECT count(*) FROM vms") throws -> Int {
            try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: sql) ?? -1 }
        }
    }

    struct Run {
        let code: Int32
        let out: String
        let err: String
    }

    func vmdb(_ arguments: [String]) async -> Run {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return Run(code: code, out: console.standardOutput, err: console.standardError)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    // MARK: list

    @Test func listShowsEveryVMWithItsNetwork() async throws {
        let scenario = try Scenario()
        let run = await vmdb(["vm", "list", "--db", scenario.path])
        #expect(run.code == 0)
        let lines = run.out.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NETWORK") == true)
        #expect(lines.contains { $0.hasPrefix("main") && $0.contains("005o") && $0.contains("main-web") })
        #expect(lines.contains { $0.hasPrefix("qa") && $0.contains("005o") && $0.contains("qa-smoke") })
        #expect(lines.last == "4 VMs")
        #expect(run.err.isEmpty)
    }

    @Test func listFiltersByNetworkAndStatus() async throws {
        let scenario = try Scenario()
        let qa = await vmdb(["vm", "list", "--db", scenario.path, "--network", "qa", "--format", "json"])
        #expect(qa.code == 0)
        let document = try json(qa.out)
        #expect(document["count"] as? Int == 2)
        let vms = try #require(document["vms"] as? [[String: Any]])
        #expect(vms.map { "\($0["network"]!)/\($0["vm_id"]!)" } == ["qa/005o", "qa/0071"])
        #expect(vms.first?["name"] as? String == "qa-smoke")
        #expect(vms.first?.keys.contains("installed_version") == true)   // every column, nulls included

        let running = await vmdb(["vm", "list", "--db", scenario.path, "--status", "running"])
        #expect(running.out.hasSuffix("2 VMs with status running\n"))
        let none = await vmdb(["vm", "list", "--db", scenario.path, "--network", "dev"])
        #expect(none.code == 0)
        #expect(none.out == "no VMs recorded on network dev\n")
    }

    @Test func listReadsVMDB_DBWhenNoDBOptionIsGiven() throws {
        let scenario = try Scenario()
        let result = try VMDBProcess.run(["vm", "list", "--format", "json"], environment: ["VMDB_DB": scenario.path])
        #expect(result.exitCode == 0)
        #expect(try json(result.standardOutput)["count"] as? Int == 4)
    }

    // MARK: show

    @Test func showByIDAloneIsAmbiguousWhenTwoNetworksHaveIt() async throws {
        let scenario = try Scenario()
        let run = await vmdb(["vm", "show", "005o", "--db", scenario.path])
        #expect(run.code == 64)
        #expect(run.out.isEmpty)
        #expect(run.err.contains("main, qa"))
        #expect(run.err.contains("--network"))

        let jsonRun = await vmdb(["vm", "show", "005o", "--db", scenario.path, "--format", "json"])
        #expect(jsonRun.code == 64)
        let error = try #require(try json(jsonRun.out)["error"] as? [String: Any])
        #expect(error["code"] as? Int == 64)
        #expect(error["kind"] as? String == "ambiguous")
        #expect((error["message"] as? String)?.contains("main, qa") == true)
    }

    @Test(arguments: [["005o", "--network", "qa"], ["qa/005o"]])
    func showByPairShowsThatVMAndItsEvents(target: [String]) async throws {
        let scenario = try Scenario()
        let run = await vmdb(["vm", "show"] + target + ["--db", scenario.path])
        #expect(run.code == 0)
        #expect(run.out.contains("qa/005o"))
        #expect(run.out.contains("qa-smoke"))
        #expect(!run.out.contains("main-web"))
        #expect(run.out.contains(#"created  {"by":"twin:88"}"#))

        let jsonRun = await vmdb(["vm", "show"] + target + ["--db", scenario.path, "--format", "json"])
        let document = try json(jsonRun.out)
        let vm = try #require(document["vm"] as? [String: Any])
        #expect(vm["network"] as? String == "qa")
        #expect(vm["vm_id"] as? String == "005o")
        #expect((document["events"] as? [[String: Any]])?.count == 1)
    }

    @Test func showByIDAloneWorksWhenOneNetworkHasIt() async throws {
        let scenario = try Scenario()
        let run = await vmdb(["vm", "show", "0071", "--db", scenario.path, "--format", "json"])
        #expect(run.code == 0)
        #expect((try json(run.out)["vm"] as? [String: Any])?["network"] as? String == "qa")
    }

    @Test(arguments: [["zzzz"], ["005o", "--network", "dev"], ["dev/005o"]])
    func showOfAMissingVMExits65(target: [String]) async throws {
        let scenario = try Scenario()
        let run = await vmdb(["vm", "show"] + target + ["--db", scenario.path])
        #expect(run.code == 65)
        #expect(run.err.contains("no VM"))
    }

    @Test(arguments: [["005o\u{1b}[2J"], ["005o", "--network", "q a"], ["005o", "--network", ""], ["/005o"], [""]])
    func anInvalidVMArgumentIsAUsageError(target: [String]) async throws {
        let scenario = try Scenario()
        let run = await vmdb(["vm", "show"] + target + ["--db", scenario.path])
        #expect(run.code == 64)
    }

    // MARK: delete

    @Test func deleteWithANetworkRemovesOnlyThatPair() async throws {
        let scenario = try Scenario()
        let ambiguous = await vmdb(["vm", "delete", "005o", "--db", scenario.path])
        #expect(ambiguous.code == 64)
        #expect(try scenario.count() == 4)

        let run = await vmdb(["vm", "delete", "005o", "--network", "qa", "--db", scenario.path, "--format", "json"])
        #expect(run.code == 0)
        let deleted = try #require(try json(run.out)["deleted"] as? [String: Any])
        #expect(deleted["network"] as? String == "qa")
        #expect(deleted["name"] as? String == "qa-smoke")
        #expect(try scenario.count() == 3)
        #expect(try scenario.count("SELECT count(*) FROM vms WHERE network = 'main' AND vm_id = '005o'") == 1)
        #expect(try scenario.count("SELECT count(*) FROM vm_events WHERE network = 'qa' AND vm_id = '005o'") == 0)

        // The id is no longer ambiguous; deleting the qa one again finds nothing.
        #expect(await vmdb(["vm", "delete", "005o", "--network", "qa", "--db", scenario.path]).code == 65)
        let show = await vmdb(["vm", "show", "005o", "--db", scenario.path])
        #expect(show.code == 0)
        #expect(show.out.contains("main-web"))
    }

    // MARK: The database

    @Test func aMissingDatabaseExits65AndIsNotCreated() async throws {
        let directory = try TemporaryDirectory("vm-command")
        let path = directory.file("typo.db")
        let run = await vmdb(["vm", "list", "--db", path])
        #expect(run.code == 65)
        #expect(run.err.contains("no database"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func anOlderDatabaseExits65AndANewerOneExits4() async throws {
        let directory = try TemporaryDirectory("vm-command")
        let v1 = try Fixtures.database(version: 1, in: directory, name: "v1.db")
        let older = await vmdb(["vm", "list", "--db", v1])
        #expect(older.code == 65)
        #expect(older.err.contains("vmdb migrate"))

        let newer = try Fixtures.database(version: 4, in: directory, name: "v5.db")
        try await DatabaseQueue(path: newer).write { db in
            try db.execute(sql: """
                INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind)
                VALUES (5, 'future', 'x', '2027-01-01T00:00:00Z', 0, 0, '9.9.9', 'applied')
                """)
        }
        let run = await vmdb(["vm", "list", "--db", newer, "--format", "json"])
        #expect(run.code == 4)
        let error = try #require(try json(run.out)["error"] as? [String: Any])
        #expect(error["kind"] as? String == "databaseNewer")
    }

    @Test func aDatabaseLockedByAnotherWriterExits75() async throws {
        let scenario = try Scenario()
        // The write lock is held across the command: a transaction left open between two accesses.
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        let holder = try DatabaseQueue(path: scenario.path, configuration: configuration)
        try holder.inDatabase { try $0.execute(sql: "BEGIN IMMEDIATE") }
        let run = await vmdb(["vm", "delete", "0071", "--db", scenario.path])
        try holder.inDatabase { try $0.execute(sql: "ROLLBACK") }
        #expect(run.code == 75)
        #expect(run.err.contains("locked"))
        #expect(try scenario.count() == 4)
    }

    @Test func noDatabaseGivenIsAUsageError() async {
        #expect(await vmdb(["vm", "show", "005o"]).code == 64 || ProcessInfo.processInfo.environment["VMDB_DB"] != nil)
    }

    // MARK: The built binary

    @Test func theBuiltBinaryRefusesAnAmbiguousIDThenDeletesByPair() throws {
        let scenario = try Scenario()
        let ambiguous = try VMDBProcess.run(["vm", "show", "005o", "--db", scenario.path])
        #expect(ambiguous.exitCode == 64)
        #expect(ambiguous.standardOutput.isEmpty)
        #expect(ambiguous.standardError.contains("main, qa"))

        let deleted = try VMDBProcess.run(["vm", "delete", "qa/005o", "--db", scenario.path, "--format", "json"])
        #expect(deleted.exitCode == 0)
        #expect((try json(deleted.standardOutput)["deleted"] as? [String: Any])?["vm_id"] as? String == "005o")

        let list = try VMDBProcess.run(["vm", "list", "--db", scenario.path])
        #expect(list.exitCode == 0)
        #expect(list.standardOutput.contains("main-web"))
        #expect(!list.standardOutput.contains("qa-smoke"))
    }
}
