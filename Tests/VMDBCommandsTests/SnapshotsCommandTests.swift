import Foundation
import Testing
import VMDBCommands
import VMDBTestSupport

/// `vmdb snapshots verify|capture`: exit codes, output, and the files they write.
@Suite struct SnapshotsCommandTests {
    private static let snapshots = (Fixtures.repositoryRoot as NSString).appendingPathComponent("snapshots")

    private func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    /// A copy of one shipped snapshot folder in `directory`, so a test may alter it.
    private func copySnapshot(_ name: String, into directory: TemporaryDirectory) throws -> String {
        let destination = directory.file("snapshots/\(name)")
        try FileManager.default.createDirectory(atPath: directory.file("snapshots"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: (Self.snapshots as NSString).appendingPathComponent(name), toPath: destination)
        return destination
    }

    @Test func everyShippedSnapshotVerifies() async throws {
        let result = await run(["snapshots", "verify", Self.snapshots])
        #expect(result.code == 0, "\(result.out)\(result.err)")
        for name in ["v1-eight-vms", "v1-large", "v2-collision", "v2-wal-operator", "v2-text-stress", "v2-nulls", "v3-current", "v3-operator"] {
            #expect(result.out.contains("\(name): ok"), "\(name) in \(result.out)")
        }
        #expect(result.out.contains("8 of 8 snapshots passed"))
    }

    @Test func jsonIsOneDocument() async throws {
        let result = await run(["snapshots", "verify", Self.snapshots, "--format", "json"])
        #expect(result.code == 0)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        #expect(document["allPassed"] as? Bool == true)
        #expect((document["snapshots"] as? [Any])?.count == 8)
    }

    @Test func aDifferenceFailsWithExit2AndNamesTheSnapshotTableAndNumbers() async throws {
        let directory = try TemporaryDirectory("snapshots-cli")
        let folder = try copySnapshot("v1-eight-vms", into: directory)
        let expectedPath = (folder as NSString).appendingPathComponent("expected.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: expectedPath))) as? [String: Any])
        var result = try #require(json["result"] as? [String: Any])
        var tables = try #require(result["tables"] as? [String: Any])
        var vms = try #require(tables["vms"] as? [String: Any])
        vms["rows"] = 9
        tables["vms"] = vms
        result["tables"] = tables
        json["result"] = result
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: expectedPath))

        let text = await run(["snapshots", "verify", directory.file("snapshots")])
        #expect(text.code == 2)
        #expect(text.out.contains("v1-eight-vms: FAILED"))
        #expect(text.out.contains("table vms: expected 9 rows, found 8"))
        let parsed = await run(["snapshots", "verify", directory.file("snapshots"), "--format", "json"])
        #expect(parsed.code == 2)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(parsed.out.utf8)) as? [String: Any])
        #expect(document["failed"] as? Int == 1)
    }

    @Test func aMissingFolderOrAnUnreadableSnapshotIsExit65() async throws {
        let directory = try TemporaryDirectory("snapshots-cli")
        let missing = await run(["snapshots", "verify", directory.file("nowhere"), "--format", "json"])
        #expect(missing.code == 65)
        #expect(missing.out.contains("\"error\""))

        let folder = try copySnapshot("v2-nulls", into: directory)
        try "{ not json".write(toFile: (folder as NSString).appendingPathComponent("expected.json"), atomically: true, encoding: .utf8)
        let unusable = await run(["snapshots", "verify", directory.file("snapshots")])
        #expect(unusable.code == 65)
        #expect(unusable.out.contains("v2-nulls: UNUSABLE"))
    }

    /// A snapshot an older vmdb wrote hashes its content otherwise: it is refused as
    /// unusable with what to do, never reported as a migration that changed the content.
    @Test func aSnapshotOfAnOlderFormatIsUnusableNotFailed() async throws {
        let directory = try TemporaryDirectory("snapshots-format")
        let folder = try copySnapshot("v2-nulls", into: directory)
        let expected = (folder as NSString).appendingPathComponent("expected.json")
        let text = try String(contentsOfFile: expected, encoding: .utf8)
        try text.replacingOccurrences(of: "\"format\" : 2", with: "\"format\" : 1").write(toFile: expected, atomically: true, encoding: .utf8)
        let result = await run(["snapshots", "verify", directory.file("snapshots")])
        #expect(result.code == 65, "\(result.out)")
        #expect(result.out.contains("v2-nulls: UNUSABLE"), "\(result.out)")
        #expect(result.out.contains("has format 1") && result.out.contains("capture the snapshot again"), "\(result.out)")
    }

    @Test func captureWritesASnapshotThatVerifiesAndNeverOverwrites() async throws {
        let directory = try TemporaryDirectory("snapshots-cli")
        let dump = try String(contentsOfFile: (Self.snapshots as NSString).appendingPathComponent("v1-eight-vms/dump.sql"), encoding: .utf8)
        let database = directory.file("deployer.db")
        try Fixtures.load(dump: dump, to: database, walMode: false)
        let before = try Fixtures.fileHash(database)
        let out = directory.file("captured/mine")

        let refused = await run(["snapshots", "capture", "--db", database, "--out", out])
        #expect(refused.code == 64, "a v1 database needs --default-network: \(refused.err)")
        #expect(refused.err.contains("--default-network"))

        let captured = await run(["snapshots", "capture", "--db", database, "--out", out, "--anonymize", "--default-network", "qa"])
        #expect(captured.code == 0, "\(captured.err)")
        #expect(captured.out.contains("anonymized"))
        #expect(try Fixtures.fileHash(database) == before, "the source is never modified")
        let capturedDump = try String(contentsOfFile: out + "/dump.sql", encoding: .utf8)
        #expect(!capturedDump.contains("qa-smoke-1") && !capturedDump.contains("185.69.166.12"))

        #expect(await run(["snapshots", "verify", directory.file("captured")]).code == 0)
        let again = await run(["snapshots", "capture", "--db", database, "--out", out, "--default-network", "qa"])
        #expect(again.code == 64)
        #expect(again.err.contains("already exists"))
    }

    @Test func captureNeedsAnExistingDatabaseAndAnOut() async {
        #expect(await run(["snapshots", "capture", "--db", "/nonexistent/deployer.db", "--out", "/tmp/never"]).code == 65)
        #expect(await run(["snapshots", "capture", "--db", "/nonexistent/deployer.db"]).code == 64)
        #expect(await run(["snapshots", "capture", "--db", "x.db", "--out", "y", "--default-network", "bad name"]).code == 64)
    }

    @Test func theBuiltBinaryVerifiesFromTheRepositoryRoot() throws {
        let result = try VMDBProcess.run(["snapshots", "verify", Self.snapshots])
        #expect(result.exitCode == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("8 of 8 snapshots passed"))
    }
}
