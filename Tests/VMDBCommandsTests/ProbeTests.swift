import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBCommands
import VMDBTestSupport

/// The seed's proof, run by every migration to v3 before it commits: the same
/// vm_id under another network inserts, an exact duplicate and an empty network
/// are rejected. Rolled back, recorded in the history and in every report.
@Suite struct ProbeTests {
    func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    func v2(_ directory: TemporaryDirectory, _ change: String = "") throws -> String {
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2(Fixtures.eightVMIds.map { (network: "qa", id: $0) }, into: path)
        if !change.isEmpty { try DatabaseQueue(path: path).write { try $0.execute(sql: change) } }
        return path
    }

    @Test func theThreeProbesHoldAreRecordedAndLeaveNoRow() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory)
        let result = await run(["migrate", "--db", path, "--no-backup"])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out.contains("probe ✓ the same vm_id under another network inserts (accepts; ran)"), "\(result.out)")
        #expect(result.out.contains("probe ✓ an exact duplicate (network, vm_id) is rejected (rejects; UNIQUE constraint failed: vms.network, vms.vm_id)"), "\(result.out)")
        let json = try await DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "SELECT verification FROM vmdb_migrations WHERE version = 3") }
        let record = try JSONDecoder().decode(VerificationRecord.self, from: Data(try #require(json).utf8))
        #expect(record.probes?.count == 3 && record.probes?.allSatisfy(\.passed) == true)
        await #expect(try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms WHERE vm_id = 'vmdb-probe'") } == 0)
        await #expect(try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") } == 8)
    }

    @Test func theDryRunReportShowsTheProbes() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory)
        let result = await run(["migrate", "--dry-run", "--format", "markdown", "--db", path])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out.contains("**Probes**") && result.out.contains("| an empty network is rejected | rejects |"), "\(result.out)")
    }

    /// An operator's unique index on vm_id alone would bring the bug back after the
    /// migration: the first probe catches it on the rehearsal, before anything runs, and
    /// the refusal names the index (issue 22: it was exit 2 after the whole copy).
    @Test func anIndexThatKeepsVMIDGloballyUniqueFailsTheFirstProbe() async throws {
        let directory = try TemporaryDirectory()
        let path = try v2(directory, "CREATE UNIQUE INDEX vms_vm_id_everywhere ON vms(vm_id)")
        let before = try Fixtures.fileHash(path)
        let result = await run(["migrate", "--db", path, "--no-backup"])
        #expect(result.code == 65, "\(result.err)")
        #expect(result.err.contains("index vms_vm_id_everywhere"), "\(result.err)")
        #expect(result.err.contains("probe \"the same vm_id under another network inserts\" (accepts) did not hold"), "\(result.err)")
        #expect(try Fixtures.fileHash(path) == before)
    }
}
