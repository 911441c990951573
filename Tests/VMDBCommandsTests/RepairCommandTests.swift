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
    /// thread waited and the run hung (CI timed out). Repair is blocking now and
    /// waits on nothing of the pool's, so this finishes.
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
}
