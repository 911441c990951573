import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// `vmdb vm intents`, repair's intents section, and v3 → v4 online, through the built binary.
@Suite struct IntentCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func intentsListsTheOpenOnesByDefaultAndEveryOneWithStateAll() throws {
        let directory = try TemporaryDirectory("intents-cli")
        let path = try Fixtures.database(version: 4, in: directory)
        let store = try VMStore(path: path)
        for n in 1...3 {
            try store.beginProvision(ProvisionRequest(network: n == 3 ? "qa" : "main", requestID: "req-\(n)", name: "web-\(n)", cpu: 2), owner: "deployer-1")
        }
        try store.completeProvision(requestID: "req-1", vm: NewVM(identity: try VMIdentity(network: "main", vmID: "c1"), name: "web-1"))
        try store.close()
        let before = try Fixtures.fileHash(path)

        let text = try VMDBProcess.run(["vm", "intents", "--db", path])
        #expect(text.exitCode == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("req-2") && text.standardOutput.contains("req-3") && !text.standardOutput.contains("req-1"))
        #expect(text.standardOutput.contains("deployer-1 until"))
        #expect(text.standardOutput.contains("2 intents listed (all: pending 2, recorded 1"))

        let all = try Self.json(try VMDBProcess.run(["vm", "intents", "--db", path, "--state", "all", "--network", "main", "--format", "json"]).standardOutput)
        #expect(all["count"] as? Int == 2)
        let intents = try #require(all["intents"] as? [[String: Any]])
        #expect(intents.map { $0["state"] as? String } == ["recorded", "pending"])
        #expect(intents.first?["vm_id"] as? String == "c1")
        #expect((intents.first?["request"] as? [String: Any])?["request_id"] as? String == "req-1")
        #expect((all["states"] as? [String: Int]) == ["pending": 2, "recorded": 1])
        // Listing writes nothing.
        #expect(try Fixtures.fileHash(path) == before)

        let old = try VMDBProcess.run(["vm", "intents", "--db", path, "--older-than", "86400"])
        #expect(old.exitCode == 0 && old.standardOutput.contains("no pending provision intents"))
        let bad = try VMDBProcess.run(["vm", "intents", "--db", path, "--state", "done"])
        #expect(bad.exitCode == 64 && bad.standardError.contains("--state must be one of"))
    }

    @Test func onAV3DatabaseIntentsSayToMigrateAndExit65() throws {
        let directory = try TemporaryDirectory("intents-cli")
        let path = try Fixtures.database(version: 3, in: directory)
        let before = try Fixtures.fileHash(path)
        let run = try VMDBProcess.run(["vm", "intents", "--db", path, "--format", "json"])
        #expect(run.exitCode == 65)
        let error = try #require(try Self.json(run.standardOutput)["error"] as? [String: Any])
        #expect(error["kind"] as? String == "schemaTooOld")
        #expect((error["message"] as? String)?.contains("need schema version 4") == true)
        #expect((error["message"] as? String)?.contains("vmdb migrate") == true)
        #expect(try Fixtures.fileHash(path) == before)
    }

    /// v4 only adds a table: online it is one short transaction, and the history keeps its promise.
    @Test func v3ToV4OnlineIsOneShortTransaction() throws {
        let directory = try TemporaryDirectory("intents-online")
        let path = try Fixtures.database(version: 3, in: directory)
        try DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
        try Fixtures.insertV3Pair(into: path)
        let run = try VMDBProcess.run(["migrate", "--db", path, "--online", "--no-backup", "--format", "json"])
        #expect(run.exitCode == 0, "\(run.standardError)")
        let report = try Self.json(run.standardOutput)
        #expect(report["fromVersion"] as? Int == 3 && report["toVersion"] as? Int == 4)
        let migrations = try #require(report["migrations"] as? [[String: Any]])
        #expect(migrations.map { $0["version"] as? Int } == [4])
        let history = try DatabaseQueue(path: path).read { db in
            try Row.fetchOne(db, sql: "SELECT kind, store_compatible_from FROM vmdb_migrations WHERE version = 4")
        }
        #expect(history?["kind"] as String? == "applied" && history?["store_compatible_from"] as Int? == 3)
        #expect(try VMDBProcess.run(["verify", "--db", path]).exitCode == 0)
    }

    @Test func repairsTextReportListsTheIntents() throws {
        let directory = try TemporaryDirectory("intents-repair-cli")
        let path = try Fixtures.database(version: 4, in: directory)
        let store = try VMStore(path: path, options: .init(clock: { Date().addingTimeInterval(-3600) }))
        try store.beginProvision(ProvisionRequest(network: "main", requestID: "req-1", name: "web-1"), owner: "gone", lease: 60)
        try store.beginProvision(ProvisionRequest(network: "main", requestID: "req-2", name: "web-2"), owner: "gone", lease: 60)
        try store.close()
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": [{"vm_id": "c1", "name": "web-1", "request_id": "req-1"}, {"vm_id": "c7", "name": "stray"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: inventory))
        let report = try VMDBProcess.run(["repair", "--db", path, "--inventory", inventory])
        #expect(report.exitCode == 3)
        #expect(report.standardOutput.contains("provision intents (pending 2, recorded 0, failed 0, adopted 0, abandoned 0): 2 interrupted"))
        #expect(report.standardOutput.contains("main/req-1") && report.standardOutput.contains("adopt c1"))
        #expect(report.standardOutput.contains("main/req-2") && report.standardOutput.contains("first miss"))
        #expect(report.standardOutput.contains("orphans (a daemon runs them, the store lacks them): 1"))

        let applied = try VMDBProcess.run(["repair", "--db", path, "--inventory", inventory, "--apply", "--no-backup"])
        #expect(applied.exitCode == 3, "a first miss needs a second run: \(applied.standardOutput)")
        #expect(applied.standardOutput.contains("provision intents: 1 adopted (VM recorded, audit row), 0 abandoned, 1 first miss(es) noted"))
        #expect(applied.standardOutput.contains("1 intent(s) left"))
        let again = try VMDBProcess.run(["repair", "--db", path, "--inventory", inventory, "--apply", "--no-backup", "--abandon-after", "0"])
        #expect(again.exitCode == 0, "\(again.standardOutput)")
        #expect(again.standardOutput.contains("0 adopted (VM recorded, audit row), 1 abandoned"))
    }
}
