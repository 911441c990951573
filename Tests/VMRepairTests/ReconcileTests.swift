import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport
import VMRepair
import VMStore

/// Orphans, ghosts and drift from saved inventories, and what --apply does and leaves alone.
@Suite struct ReconcileTests {
    @Test("ghosts and drift are reported, and --apply leaves them exactly as they were")
    func ghostsAndDriftUntouched() async throws {
        let fixture = try RepairFixture()
        try fixture.provision([
            .vm("main", "0069", name: "db", status: .running, node: 10, contract: 500),
            .vm("main", "0070", name: "gone", status: .running),
            .vm("main", "0071", name: "retired", status: .deleted),
            .vm("qa", "0001", name: "unchecked"),
        ])
        let inventory = try fixture.file("main.json", inventoryDocument([
            vmEntry("0069", name: "db-renamed", status: "stopped", node: 11, contract: 500),
            vmEntry("00aa", name: "new", status: "running"),
        ], network: "main"))
        let rowsBefore = try fixture.vmRows()

        let report = try await fixture.session().run([.file(path: inventory, network: nil)])
        #expect(report.counts == RepairReport.Counts(orphans: 1, ghosts: 1, drift: 1))
        #expect(report.ghosts.map(\.vmID) == ["0070"])   // not 0071 (deleted), not qa/0001 (qa unchecked)
        #expect(report.networksChecked == ["main"])
        #expect(report.networksNotChecked == ["qa"])
        let drift = try #require(report.drift.first)
        #expect(drift.vmID == "0069")
        #expect(drift.differences == [
            .init(field: "status", store: "running", daemon: "stopped"),
            .init(field: "name", store: "db", daemon: "db-renamed"),
            .init(field: "node", store: "10", daemon: "11"),
        ])
        #expect(report.needsAction)

        let applied = try await fixture.session(apply: true).run([.file(path: inventory, network: nil)])
        #expect(applied.applied?.recorded == 1)
        #expect(applied.needsAction)   // ghosts and drift remain for a person
        var rowsAfter = try fixture.vmRows()
        rowsAfter.removeAll { $0.contains("\"00aa\"") }
        #expect(rowsAfter == rowsBefore)
        #expect(try fixture.auditRows().map { $0["vm_id"] as String } == ["00aa"])
    }

    @Test("report mode writes nothing: the file is byte for byte as it was")
    func reportWritesNothing() async throws {
        let fixture = try RepairFixture()
        try fixture.provision([.vm("main", "0001")])
        let inventory = try fixture.file("inv.json", inventoryDocument([vmEntry("0002")]))
        let before = try Fixtures.fileHash(fixture.path)
        let result = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory, "--network", "main"])
        #expect(result.exitCode == 3)
        #expect(try Fixtures.fileHash(fixture.path) == before)
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path)
        #expect(!files.contains { $0.hasSuffix(".backup") })
    }

    @Test("store and daemons agreeing: exit 0 and nothing found")
    func agreement() async throws {
        let fixture = try RepairFixture()
        try fixture.provision([.vm("main", "0001", name: "a", node: 1), .vm("main", "0002", name: "b")])
        let inventory = try fixture.file("inv.json", inventoryDocument([vmEntry("0001", name: "a", node: 1), vmEntry("0002")]))
        let result = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory, "--network", "main"])
        #expect(result.exitCode == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("store and daemons agree"))
    }

    @Test("an inventory listing an id twice on one network is refused, nothing used or written")
    func duplicateIDsRefused() async throws {
        let fixture = try RepairFixture()
        let first = try fixture.file("a.json", inventoryDocument([vmEntry("0001"), vmEntry("0002")], network: "main"))
        let second = try fixture.file("b.json", inventoryDocument([vmEntry("0002", name: "again")], network: "main"))
        let other = try fixture.file("c.json", inventoryDocument([vmEntry("0002")], network: "qa"))
        let before = try Fixtures.fileHash(fixture.path)

        let result = try await runVMDB(["repair", "--db", fixture.path, "--inventory", first, second, other, "--apply", "--format", "json"])
        #expect(result.exitCode == 65)
        let message = try #require((try jsonObject(result.standardOutput)["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("main/0002"))
        #expect(!message.contains("qa/0002"))   // the same id on another network is another VM
        #expect(try Fixtures.fileHash(fixture.path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).allSatisfy { !$0.hasSuffix(".backup") })

        // Within one file too.
        let doubled = try fixture.file("d.json", inventoryDocument([vmEntry("x"), vmEntry("x")], network: "dev"))
        let error = #expect(throws: RepairError.self) { try fixture.session(apply: true).run([.file(path: doubled, network: nil)]) }
        #expect(error?.kind == .duplicateIDs)
        #expect(try fixture.auditRows().isEmpty)
    }

    @Test("--apply is idempotent: a second run records nothing new")
    func applyIsIdempotent() async throws {
        let fixture = try RepairFixture()
        let inventory = try fixture.file("inv.json", inventoryDocument((0..<50).map { vmEntry(String($0, radix: 36), node: $0) }, network: "test"))
        let first = try await fixture.session(apply: true).run([.file(path: inventory, network: nil)])
        #expect(first.applied?.recorded == 50)
        #expect(!first.needsAction)
        let rows = try fixture.vmRows()
        let second = try await fixture.session(apply: true).run([.file(path: inventory, network: nil)])
        #expect(second.counts == RepairReport.Counts())
        #expect(second.applied?.recorded == 0)
        #expect(second.applied?.backup == nil)   // nothing to record, nothing to back up
        #expect(try fixture.vmRows() == rows)
        #expect(try fixture.auditRows().count == 50)
    }

    @Test("ids and names full of SQL metacharacters and quotes are recorded intact")
    func metacharactersIntact() async throws {
        let fixture = try RepairFixture()
        let ids = ["x'); DROP TABLE vms;--", "\"quoted\"", "a'b\"c", "%_*?[", "back\\slash", "sp ace", "ünï/cødé", "0;DELETE FROM vm_repairs"]
        let entries = ids.enumerated().map { offset, id in
            vmEntry(id, name: "name \(id) '; DROP TABLE vm_repairs; --", status: "running", node: offset)
        }
        let inventory = try fixture.file("inv.json", inventoryDocument(entries, network: "main"))
        let report = try await fixture.session(apply: true).run([.file(path: inventory, network: nil)])
        #expect(report.applied?.recorded == ids.count)
        #expect(Set(report.orphans.map(\.vmID)) == Set(ids))

        let store = try VMStore(path: fixture.path)
        defer { try? store.close() }
        for (offset, id) in ids.enumerated() {
            let record = try #require(try await store.vm(VMIdentity(network: "main", vmID: id)), "\(id)")
            #expect(record.vmID.utf8.elementsEqual(id.utf8))
            #expect(record.name == "name \(id) '; DROP TABLE vm_repairs; --")
            #expect(record.nodeID == Int64(offset))
        }
        let audit = try fixture.auditRows()
        #expect(Set(audit.map { $0["entry"] as String }) == Set(entries))
        #expect(try await fixture.queue().read { db in try db.tableExists("vms") && db.tableExists("vm_repairs") })

        let again = try await fixture.session().run([.file(path: inventory, network: nil)])
        #expect(!again.hasFindings)
    }

    @Test("a database before v3 is refused with the message to migrate first", arguments: [1, 2])
    func olderDatabaseRefused(version: Int) async throws {
        let directory = try TemporaryDirectory("old")
        let path = try Fixtures.database(version: version, in: directory)
        let inventory = directory.file("inv.json")
        try Data(inventoryDocument([vmEntry("0001")], network: "main").utf8).write(to: URL(fileURLWithPath: inventory))
        let before = try Fixtures.fileHash(path)
        let result = try await runVMDB(["repair", "--db", path, "--inventory", inventory, "--apply"])
        #expect(result.exitCode == 65)
        #expect(result.standardError.contains("vmdb migrate"))
        #expect(result.standardError.contains("version \(version)"))
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test("an inventory that does not state its network needs --network (never guessed)")
    func networkNeverGuessed() async throws {
        let fixture = try RepairFixture()
        let inventory = try fixture.file("inv.json", inventoryDocument([vmEntry("0001")]))
        let missing = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory])
        #expect(missing.exitCode == 64)
        #expect(missing.standardError.contains("--network"))
        let stated = try fixture.file("stated.json", inventoryDocument([vmEntry("0001")], network: "qa"))
        let conflicting = try await runVMDB(["repair", "--db", fixture.path, "--inventory", stated, "--network", "main"])
        #expect(conflicting.exitCode == 64)
        #expect(conflicting.standardError.contains("states network qa"))
    }

    @Test("malformed inventories are refused with exit 65 and where the problem is", arguments: [
        "{\"result\": [{\"vm_id\": \"0001\"}, ",
        "[{\"vm_id\": \"0001\"}] trailing",
        "[{\"name\": \"no id\"}]",
        "[\"not an object\"]",
        "{\"jsonrpc\": \"2.0\", \"id\": 1, \"error\": {\"code\": -1, \"message\": \"boom\"}}",
        "<html>502</html>",
        "",
    ])
    func malformedInventory(text: String) async throws {
        let fixture = try RepairFixture()
        let inventory = try fixture.file("bad.json", text)
        let result = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory, "--network", "main"])
        #expect(result.exitCode == 65, "\(result.standardError)")
        #expect(result.standardError.contains(inventory))
    }

    @Test("--format markdown and json describe the same findings")
    func formats() async throws {
        let fixture = try RepairFixture()
        try fixture.provision([.vm("main", "0001", name: "a|b")])
        let inventory = try fixture.file("inv.json", inventoryDocument([vmEntry("0002", name: "pipe | name")], network: "main"))
        let markdown = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory, "--format", "markdown"])
        #expect(markdown.exitCode == 3)
        #expect(markdown.standardOutput.contains("## Orphans"))
        #expect(markdown.standardOutput.contains("pipe \\| name"))
        #expect(markdown.standardOutput.contains("## Ghosts"))
        let json = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory, "--format", "json", "--limit", "1"])
        let object = try jsonObject(json.standardOutput)
        #expect(object["mode"] as? String == "report")
        #expect((object["counts"] as? [String: Int]) == ["orphans": 1, "ghosts": 1, "drift": 0])
    }

    @Test("--limit bounds the listed findings; counts stay exact")
    func listLimit() async throws {
        let fixture = try RepairFixture()
        let inventory = try fixture.file("inv.json", inventoryDocument((0..<30).map { vmEntry("id\($0)") }, network: "main"))
        var options = RepairOptions()
        options.listLimit = 5
        let report = try await RepairSession(databasePath: fixture.path, options: options).run([.file(path: inventory, network: nil)])
        #expect(report.counts.orphans == 30)
        #expect(report.orphans.count == 5)
    }
}

extension ReconcileTests {
    @Test("an orphan whose text is not valid UTF-8 is refused, not repaired into the audit trail")
    func orphanWithInvalidUTF8() async throws {
        let fixture = try RepairFixture()
        var bytes = Array(inventoryDocument([#"{"vm_id":"0001","note":"ab"}"#], network: "main").utf8)
        let at = try #require(bytes.firstIndex(of: UInt8(ascii: "b")))
        bytes.insert(0xFF, at: at)
        let inventory = fixture.directory.file("bad-utf8.json")
        try Data(bytes).write(to: URL(fileURLWithPath: inventory))
        let error = #expect(throws: RepairError.self) { try fixture.session(apply: true).run([.file(path: inventory, network: nil)]) }
        #expect(error?.kind == .malformedInput)
        #expect(error?.message.contains("UTF-8") == true)
        #expect(try fixture.auditRows().isEmpty)
    }
}

extension ReconcileTests {
    @Test("an orphan whose name holds a NUL is refused whole, not recorded cut short")
    func orphanWithNUL() async throws {
        let fixture = try RepairFixture()
        let inventory = fixture.directory.file("nul.json")
        try Data(inventoryDocument([#"{"vm_id":"0001","name":"web\u0000evil"}"#, #"{"vm_id":"0002","name":"fine"}"#], network: "main").utf8)
            .write(to: URL(fileURLWithPath: inventory))
        let before = try Fixtures.fileHash(fixture.path)
        let result = try await runVMDB(["repair", "--db", fixture.path, "--inventory", inventory, "--apply", "--no-backup"])
        #expect(result.exitCode == 65, "\(result.standardError)")
        #expect(result.standardError.contains("main/0001") && result.standardError.contains("NUL"), "\(result.standardError)")
        #expect(result.standardError.contains("nothing was recorded"))
        #expect(try fixture.auditRows().isEmpty)
        #expect(try Fixtures.fileHash(fixture.path) == before)   // the rollback left no trace, not even GRDB's WAL setup
    }

    @Test("usage errors exit 64", arguments: [
        ["repair", "--db", "DB"],
        ["repair", "--db", "DB", "--inventory", "a.json", "--daemons", "d.json"],
        ["repair", "--db", "DB", "--daemons", "d.json", "--network", "main"],
        ["repair", "--db", "DB", "--inventory", "a.json", "--no-backup"],
        ["repair", "--db", "DB", "--inventory", "a.json", "--network", "ma/in"],
    ])
    func usage(arguments: [String]) async throws {
        let fixture = try RepairFixture()
        let result = try await runVMDB(arguments.map { $0 == "DB" ? fixture.path : $0 })
        #expect(result.exitCode == 64, "\(result.standardError)")
    }

    @Test("a missing inventory file or daemons config is unusable input (65)")
    func missingFiles() async throws {
        let fixture = try RepairFixture()
        let inventory = try await runVMDB(["repair", "--db", fixture.path, "--inventory", fixture.directory.file("nope.json"), "--network", "main"])
        #expect(inventory.exitCode == 65)
        let config = try await runVMDB(["repair", "--db", fixture.path, "--daemons", fixture.directory.file("nope.json")])
        #expect(config.exitCode == 65)
        #expect(config.standardError.contains("daemons config"))
    }
}

/// Repair opens what the store opens: a later version that keeps a v3 store
/// working is repaired (it was refused as newer while `vm` commands worked on
/// it), and one that does not is refused as newer, naming the migration.
@Suite struct RepairForwardCompatibilityTests {
    @Test func aCompatibleNextVersionIsRepairedAndAnIncompatibleOneRefused() throws {
        let directory = try TemporaryDirectory("repair-forward")
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": [{"vm_id": "005o", "name": "web"}, {"vm_id": "0777", "name": "new"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: inventory))
        let compatible = try FutureMigrations.database(migratedTo: [(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())],
                                                       in: directory, name: "ok.db")
        var options = RepairOptions()
        options.apply = true
        options.takesBackup = false
        let report = try RepairSession(databasePath: compatible, options: options).run([.file(path: inventory, network: nil)])
        #expect(report.counts.orphans == 1)
        #expect(report.applied?.recorded == 1)

        let silent = try FutureMigrations.database(
            migratedTo: [(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext(declaresCompatibility: false))],
            in: directory, name: "silent.db")
        let before = try Fixtures.fileHash(silent)
        let error = #expect(throws: RepairError.self) {
            try RepairSession(databasePath: silent, options: options).run([.file(path: inventory, network: nil)])
        }
        #expect(error?.kind == .databaseNewer)
        #expect(error?.message.contains("migration 5") == true || error?.message.contains("region") == true, "\(error?.message ?? "")")
        #expect(try Fixtures.fileHash(silent) == before)
    }
}
