import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// Inventories and daemon answers an operator cannot trust, through the built
/// binary with `--apply` (the mode that writes): each refused or handled with
/// its documented exit code, and the database byte for byte as it was.
/// (Malformed JSON, truncated documents, HTML, a JSON-RPC error in a file,
/// duplicate ids, and daemons down, slow, or answering garbage, HTML or an error
/// are covered by VMRepairTests; see RELIABILITY.md.)
@Suite struct InventoryInputTests {
    static func v3Database(in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("deployer.db")
        try LargeDatabase.makeV3(at: path, vms: 1_000)
        return path
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test(arguments: [
        #"{"vms": [{"vm_id": null}]}"#,
        #"{"vms": [{"vm_id": ""}]}"#,
        #"{"vms": [{"vm_id": "a\u0000b"}]}"#,                           // a NUL inside the id
        #"{"vms": [{"vm_id": "ok"}], "network": ["main"]}"#,
        #"{"vms": {"vm_id": "ok"}}"#,
        #"[[{"vm_id": "ok"}]]"#,
        "\u{feff}[{\"vm_id\": \"bom\"}]",                                  // a byte order mark
        #"{"network": "main", "network": "qa", "vms": []}"#,
        "[" + String(repeating: "[", count: 100_000),                    // nesting without end
        #"{"vms": [{"vm_id": "\#(String(repeating: "x", count: 300))"}]}"#, // longer than a vm id may be
        #"{"vms": [{"vm_id": "\ud800"}]}"#,                               // a lone surrogate
    ])
    func aWrongShapeIsRefusedWithExit65AndNothingWritten(_ text: String) throws {
        let directory = try TemporaryDirectory("shape")
        let path = try Self.v3Database(in: directory)
        let hash = try Fixtures.fileHash(path)
        let inventory = directory.file("inventory.json")
        try Self.write(text, to: inventory)
        let result = try Reliability.vmdb(["repair", "--db", path, "--inventory", inventory, "--network", "main", "--apply"])
        #expect(result.exitCode == 65, "\(text.prefix(60)): exit \(result.exitCode): \(result.standardError)")
        #expect(result.standardError.contains(inventory), "\(result.standardError)")
        #expect(try Fixtures.fileHash(path) == hash)
        #expect(Reliability.files(in: directory.path, suffix: ".backup").isEmpty, "a backup was taken for a run that could not start")
    }

    @Test func aHugeInventoryIsReadInFullInReportModeAndNothingIsWritten() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("huge")
            let path = try Self.v3Database(in: directory)
            let hash = try Fixtures.fileHash(path)
            let inventory = directory.file("huge.json")
            let entries = Reliability.isHeavy ? 2_000_000 : 200_000
            try RepairCrashTests.writeInventory(for: path, orphans: entries, to: inventory)
            let result = try Reliability.vmdb(["repair", "--db", path, "--inventory", inventory, "--format", "json", "--limit", "5"])
            #expect(result.exitCode == 3, "\(result.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            #expect((object?["counts"] as? [String: Int])?["orphans"] == entries)
            #expect(try Fixtures.fileHash(path) == hash)
            print("huge inventory: \(entries) orphans, \(sizeText(inventory)) read in report mode, nothing written")
        }
    }

    @Test func aHugeEntryIsRecordedIntactOrRefusedNeverTruncated() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("huge-entry")
            let path = try Self.v3Database(in: directory)
            let name = String(repeating: "ß'\";--", count: 1 << 20)  // 8 MiB of name
            let inventory = directory.file("big-entry.json")
            let entry = try JSONSerialization.data(withJSONObject: ["network": "main", "vms": [["vm_id": "big0", "name": name]]] as [String: Any])
            try entry.write(to: URL(fileURLWithPath: inventory))
            let hash = try Fixtures.fileHash(path)
            let result = try Reliability.vmdb(["repair", "--db", path, "--inventory", inventory, "--apply", "--no-backup"])
            if result.exitCode == 65 {
                #expect(try Fixtures.fileHash(path) == hash)
            } else {
                #expect(result.exitCode == 3, "\(result.standardError)")  // recorded; ghosts remain on main
                let stored = try DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "SELECT name FROM vms WHERE network = 'main' AND vm_id = 'big0'") }
                #expect(stored == name, "the name was not stored intact (\(stored?.count ?? 0) characters)")
            }
            print("huge entry (8 MiB name): exit \(result.exitCode)")
        }
    }

    @Test(arguments: SilentDaemon.Behavior.allCases)
    func aDaemonThatAnswersNothingIsExit69AndNothingWritten(_ behavior: SilentDaemon.Behavior) throws {
        let directory = try TemporaryDirectory("silent")
        let path = try Self.v3Database(in: directory)
        let hash = try Fixtures.fileHash(path)
        let daemon = try SilentDaemon(behavior, in: directory)
        let config = directory.file("daemons.json")
        try Self.write(#"{"timeout_seconds": 3, "daemons": [{"network": "main", "endpoint": "\#(daemon.endpoint)"}]}"#, to: config)
        let result = try Reliability.vmdb(["repair", "--db", path, "--daemons", config, "--apply"])
        #expect(result.exitCode == 69, "\(behavior): exit \(result.exitCode): \(result.standardError)")
        #expect(result.standardError.contains("main") && result.standardError.contains("silent.sock"), "\(result.standardError)")
        #expect(try Fixtures.fileHash(path) == hash)
        withExtendedLifetime(daemon) {}
    }
}

/// A file's size, for messages.
private func sizeText(_ path: String) -> String {
    let bytes = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
    return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
}
