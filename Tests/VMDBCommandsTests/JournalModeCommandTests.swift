import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// Issue 12, class 7: the operator's journal mode is theirs. A read through the built
/// binary changes no byte in any mode, a write keeps the mode, and a hot journal left
/// by a crashed writer is rolled back, never read past or misreported.
@Suite struct JournalModeCommandTests {
    /// A v3 database with a few VMs (qa/005o among them), left in `mode`.
    static func database(in directory: TemporaryDirectory, mode: String, vms: Int = 4) throws -> String {
        let path = try Fixtures.database(version: 3, in: directory)
        let store = try VMStore(path: path)
        try store.write { writer in
            for n in 0..<vms {
                let network = n % 2 == 0 ? "main" : "qa"
                try writer.provision(NewVM(identity: try VMIdentity(network: network, vmID: n < 2 ? "005o" : String(format: "%04d", n)),
                                           name: "vm-\(n)-" + String(repeating: "x", count: 200), status: .running))
            }
            _ = try writer.recordEvent("created", for: try VMReference(vmID: "005o", network: "qa"))
        }
        try store.close()
        try JournalModes.set(mode, on: path)
        return path
    }

    @Test(arguments: JournalModes.all)
    func listAndShowChangeNoByteOfTheFile(mode: String) throws {
        let directory = try TemporaryDirectory("journal-read")
        let path = try Self.database(in: directory, mode: mode)
        let before = try JournalModes.fileState(path)
        #expect(try JournalModes.headerVersions(path) == (mode == "wal" ? [2, 2] : [1, 1]))
        for arguments in [["vm", "list"], ["vm", "list", "--format", "json"], ["vm", "show", "qa/005o"], ["vm", "show", "0002", "--format", "json"]] {
            let run = try VMDBProcess.run(arguments + ["--db", path])
            #expect(run.exitCode == 0, "\(arguments): \(run.standardError)")
            #expect(try JournalModes.fileState(path) == before, "\(mode): \(arguments) changed the file or its sidecars")
        }
    }

    @Test(arguments: ["delete", "truncate", "persist", "wal"])
    func deleteKeepsTheJournalMode(mode: String) throws {
        let directory = try TemporaryDirectory("journal-write")
        let path = try Self.database(in: directory, mode: mode)
        let run = try VMDBProcess.run(["vm", "delete", "qa/005o", "--db", path])
        #expect(run.exitCode == 0, "\(run.standardError)")
        #expect(try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") } == 3)
        if mode == "wal" {
            #expect(try JournalModes.headerVersions(path) == [2, 2])
            return
        }
        // Still a rollback journal: the header says so, and a new connection (which
        // takes the mode from the file) reports DELETE, SQLite's default for it.
        #expect(try JournalModes.headerVersions(path) == [1, 1])
        #expect(try DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "delete")
        #expect(JournalModes.sidecarSize(path, "-wal") == nil)
        // The journal file is as the operator's mode leaves it after a commit.
        switch mode {
        case "truncate": #expect(JournalModes.sidecarSize(path, "-journal") == 0)
        case "persist": #expect((JournalModes.sidecarSize(path, "-journal") ?? 0) > 0)
        default: #expect(JournalModes.sidecarSize(path, "-journal") == nil)
        }
    }

    @Test func aHotJournalIsRolledBackAndThePreCrashContentIsRead() throws {
        let directory = try TemporaryDirectory("hot-journal")
        let path = try Self.database(in: directory, mode: "delete", vms: 3000)
        let before = try Fixtures.fileHash(path)
        try JournalModes.crashWriterMidTransaction(path, in: directory)
        // The test means something only if the crash left the file half-written.
        try #require((JournalModes.sidecarSize(path, "-journal") ?? 0) > 0, "no hot journal was left")
        try #require(try Fixtures.fileHash(path) != before, "the writer spilled no page into the file")

        let run = try VMDBProcess.run(["vm", "list", "--db", path, "--format", "json"])
        #expect(run.exitCode == 0, "\(run.standardError)")
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        #expect(listing["count"] as? Int == 3000)
        let names = (listing["vms"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(names.count == 3000 && !names.contains { $0.hasPrefix("half-written") })
        let show = try VMDBProcess.run(["vm", "show", "qa/005o", "--db", path, "--format", "json"])
        #expect(show.exitCode == 0 && show.standardOutput.contains("\"created\""), "\(show.standardError)")

        // Rolled back, not ignored: the journal is gone, the file is whole and as before the crash.
        #expect(JournalModes.sidecarSize(path, "-journal") == nil)
        #expect(try Fixtures.fileHash(path) == before)
        #expect(try JournalModes.headerVersions(path) == [1, 1])
        #expect(try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"])
    }

    /// Tests run as root, whom permission bits do not stop: the file is made
    /// immutable (`chattr +i`) instead, so no connection can roll the journal back.
    @Test(.enabled(if: SystemTool.hasChattr, "needs chattr and a filesystem with the immutable attribute"))
    func aHotJournalThatCannotBeRolledBackIsNamedNotCalledAPermissionProblem() throws {
        let directory = try TemporaryDirectory("hot-journal-immutable")
        let path = try Self.database(in: directory, mode: "delete", vms: 3000)
        try JournalModes.crashWriterMidTransaction(path, in: directory)
        let crashed = try JournalModes.fileState(path)
        #expect(SystemTool.run("/usr/bin/chattr", ["+i", path]) == 0)
        defer { SystemTool.run("/usr/bin/chattr", ["-i", path]) }
        let run = try VMDBProcess.run(["vm", "list", "--db", path, "--format", "json"])
        #expect(run.exitCode == 65, "\(run.standardOutput)")
        #expect(run.standardOutput.contains("hot journal") && run.standardOutput.contains("Do not delete the journal"), "\(run.standardOutput)")
        #expect(try JournalModes.fileState(path) == crashed)
    }

    @Test func aHeaderWithAnUnknownJournalFormatIsRefusedNamingIt() throws {
        let directory = try TemporaryDirectory("journal-unknown")
        let path = try Self.database(in: directory, mode: "delete")
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 18)
        try handle.write(contentsOf: Data([3, 3]))
        try handle.close()
        let before = try Fixtures.fileHash(path)
        let run = try VMDBProcess.run(["vm", "list", "--db", path, "--format", "json"])
        #expect(run.exitCode == 65, "\(run.standardOutput)")
        #expect(run.standardOutput.contains("unsupportedJournalMode") && run.standardOutput.contains("3/3"), "\(run.standardOutput)")
        #expect(try Fixtures.fileHash(path) == before)
    }
}
