import Foundation
import Testing
import VMDBCommands
import VMDBTestSupport

/// Usage errors as an operator reads them, and the one network-name rule at
/// every option where a network enters.
@Suite struct UsageErrorTests {
    func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    @Test func aUsageErrorCarriesOnePrefix() async {
        let result = await run(["migrate", "--db", "/nonexistent.db", "--backup-dir", "/tmp", "--no-backup"])
        #expect(result.code == 64)
        #expect(result.err.hasPrefix("vmdb: error: --backup-dir and --no-backup exclude each other"), "\(result.err)")
        #expect(!result.err.contains("Error:"), "\(result.err)")
    }

    @Test func aUsageErrorInJSONIsTheMessageAlone() async throws {
        let result = await run(["migrate", "--db", "/nonexistent.db", "--backup-dir", "/tmp", "--no-backup", "--format", "json"])
        #expect(result.code == 64)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        let error = try #require(document["error"] as? [String: Any])
        #expect(error["message"] as? String == "--backup-dir and --no-backup exclude each other")
    }

    /// `--drain` goes with `--online`, and `later` not with `--dry-run` (the dry run measures
    /// the drain on its copy); an unknown timing is named.
    @Test(arguments: [
        (["--drain", "later"], "--drain and --postpone-cut-over-file go with --online"),
        (["--online", "--dry-run", "--drain", "later"], "--drain later does not go with --dry-run"),
        (["--online", "--drain", "soon"], "'soon'"),
    ])
    func drainGoesWithOnline(_ extra: [String], _ message: String) async {
        let result = await run(["migrate", "--db", "/nonexistent.db"] + extra)
        #expect(result.code == 64, "\(result.err)")
        #expect(result.err.contains(message), "\(result.err)")
    }

    /// Each network option is refused by the store's rule, with the file untouched.
    @Test(arguments: ["qa\u{81}", "qa\u{9f}", " qa", "qa\u{2028}"])
    func everyNetworkOptionUsesTheStoresRule(_ network: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let before = try Fixtures.fileHash(path)
        let inventory = directory.file("inventory.json")
        try Data(#"{"vms": []}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        for arguments in [
            ["migrate", "--db", path, "--default-network", network],
            ["repair", "--db", path, "--inventory", inventory, "--network", network],
            ["vm", "list", "--db", path, "--network", network],
        ] {
            let result = await run(arguments)
            #expect(result.code == 64, "\(arguments): \(result.err)")
            #expect(result.err.contains("is not a network name"), "\(arguments): \(result.err)")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }
}

/// The demo works in a folder nobody else could have made or predicted.
@Suite struct DemoFolderTests {
    @Test func theDemoNeverUsesAFolderThatAlreadyExists() async throws {
        // The old name was vmdb-demo-<pid>: plant it, as another user could have.
        let planted = (NSTemporaryDirectory() as NSString).appendingPathComponent("vmdb-demo-\(getpid())")
        try FileManager.default.createDirectory(atPath: planted, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: planted) }
        let marker = (planted as NSString).appendingPathComponent("deployer.db")
        try Data("not the demo's".utf8).write(to: URL(fileURLWithPath: marker))

        let console = Console.capture()
        let code = await VMDB.execute(["demo"], console: console)
        #expect(code == 0, "\(console.standardError)")
        #expect(!console.standardOutput.contains(planted + "/"), "\(console.standardOutput.prefix(400))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: marker)) == Data("not the demo's".utf8))
        // The demo's own folder is gone afterwards.
        let line = try #require(console.standardOutput.split(separator: "\n").first { $0.hasPrefix("== /") })
        let folder = ((String(line.dropFirst(3))) as NSString).deletingLastPathComponent
        #expect(!FileManager.default.fileExists(atPath: folder))
    }

    /// The reason once came from `errno` read after other calls (building the
    /// message itself), so it could name the wrong failure. Each command that
    /// needs a private folder names the folder and the real reason, exit 74.
    @Test(arguments: [["demo"], ["migrate", "--dry-run"], ["repair", "--inventory", "INVENTORY"]])
    func anUnusableTemporaryDirectoryIsNamedWithItsReason(_ arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: arguments[0] == "repair" ? 3 : 2, in: directory)
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": []}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        let missing = directory.file("no-such-tmp")
        let before = try Fixtures.fileHash(path)
        let result = try VMDBProcess.run(arguments.map { $0 == "INVENTORY" ? inventory : $0 } + (arguments[0] == "demo" ? [] : ["--db", path]),
                                         environment: ["TMPDIR": missing])
        #expect(result.exitCode == 74, "\(result.standardError)")
        #expect(result.standardError.contains(missing), "\(result.standardError)")
        #expect(result.standardError.contains("No such file or directory"), "\(result.standardError)")
        #expect(try Fixtures.fileHash(path) == before)
    }
}
