import Foundation
import Testing
import VMDBCommands
import VMDBTestSupport

/// Repair's report as the command renders it.
@Suite struct RepairCommandTests {
    @Test func theTextReportListsUpToTheLimitAndCountsTheRest() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        let entries = (0..<30).map { #"{"vm_id": "id\#($0)", "name": "vm\#($0)", "status": "running"}"# }
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": [\#(entries.joined(separator: ", "))]}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        let console = Console.capture()
        let code = await VMDB.execute(["repair", "--db", path, "--inventory", inventory, "--limit", "5"], console: console)
        #expect(code == 3, "\(console.standardError)")
        #expect(console.standardOutput.contains("orphans (a daemon runs them, the store lacks them): 30"))
        #expect(console.standardOutput.contains("… and 25 more, not listed"), "\(console.standardOutput)")
    }

    /// The command once waited, on the caller's thread, for a task of the
    /// cooperative pool; run from more pool tasks than the pool has threads, every
    /// thread waited and the run hung (CI timed out). Repair's work now runs on a
    /// thread of its own while the task suspends, so no pool thread waits and this finishes.
    @Test(.timeLimit(.minutes(2)))
    func repairsInMoreTasksThanThePoolHasThreadsAllFinish() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": [{"vm_id": "id0", "name": "vm0", "status": "running"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: inventory))
        let codes = await withTaskGroup(of: Int32.self) { group in
            for _ in 0..<(ProcessInfo.processInfo.activeProcessorCount + 3) {
                group.addTask { await VMDB.execute(["repair", "--db", path, "--inventory", inventory], console: .capture()) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(codes.allSatisfy { $0 == 3 }, "\(codes)")
    }

    /// A file error met by repair is rendered like migrate's: the fact, then what to do next.
    @Test func aDatabaseThatIsNotSQLiteGets65AndTheAdvice() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("notes.db")
        try Data("an operator's notes".utf8).write(to: URL(fileURLWithPath: path))
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": []}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        let console = Console.capture()
        let code = await VMDB.execute(["repair", "--db", path, "--inventory", inventory], console: console)
        #expect(code == 65)
        #expect(console.standardError.contains("\(path) is not a SQLite database"), "\(console.standardError)")
        #expect(console.standardError.contains("restore it from a backup (vmdb restore)"), "\(console.standardError)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "an operator's notes")
    }
}
