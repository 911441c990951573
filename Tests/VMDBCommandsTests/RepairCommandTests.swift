import Foundation
import Testing
import VMDBCommands
import VMDBTestSupport

/// Repair's report as the command renders it.
@Suite struct RepairCommandTests {
    @Test func theTextReportListsUpToTheLimitAndCountsTheRest() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        let entries = (0..<30).map { #"{"vm_id": "id\#($0)", "name": "vm\#($0)", "status": "running"}"# }
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": [\#(entries.joined(separator: ", "))]}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        let console = Console.capture()
        let code = VMDB.execute(["repair", "--db", path, "--inventory", inventory, "--limit", "5"], console: console)
        #expect(code == 3, "\(console.standardError)")
        #expect(console.standardOutput.contains("orphans (a daemon runs them, the store lacks them): 30"))
        #expect(console.standardOutput.contains("… and 25 more, not listed"), "\(console.standardOutput)")
    }
}
