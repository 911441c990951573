import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// `vmdb migrate --online` SIGKILLed, and what the next run makes of the file (issue 13).
@Suite(.serialized, .tags(.slow)) struct OnlineCrashTests {
    static let copyEvents = "vmdb: online: copy vm_events"

    /// VMs in the file (1.8 events each). `VMDB_ONLINE_VMS=N` overrides.
    static let vms = Int(ProcessInfo.processInfo.environment["VMDB_ONLINE_VMS"] ?? "") ?? (Reliability.isHeavy ? 10_000 : 2_500)

    /// Undoing an interrupted online run gives the schema back as it was, to the byte: the
    /// indexes the prepare renamed out of the way get their own text back, not a re-quoted
    /// one (which the offline migration then carried into v3).
    @Test func undoingAnInterruptedOnlineRunLeavesTheSchemaByteForByte() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("crash-online-undo")
            let path = directory.file("deployer.db")
            try LargeDatabase.makeV2(at: path, vms: Self.vms)
            let schemaBefore = try OnlineReliability.read(path, Reliability.schema)
            let before = try ContentFingerprint.of(path)
            let run = try WatchedProcess.run(["migrate", "--db", path, "--online", "--no-backup", "--progress", "--chunk-ms", "1"],
                                             killAt: Self.copyEvents, after: 0.05, in: directory, label: "online")
            #expect(run.wasKilled, "the run finished before the kill: \(run.standardError)")
            #expect(try OnlineReliability.read(path, OnlineReliability.recordedPhase) == "copy")
            // `migrate --to 2`: nothing to apply, so it only undoes the online run.
            let undo = try Reliability.vmdb(["migrate", "--db", path, "--to", "2", "--no-backup"])
            #expect(undo.exitCode == 0, "\(undo.standardError)")
            let (schema, left, version) = try OnlineReliability.read(path) { db in
                (try Reliability.schema(db), try OnlineReliability.leftovers(db), try Reliability.recordedVersion(db))
            }
            #expect(version == 2 && left.isEmpty, "v\(version), left: \(left)")
            let changed = zip(schema, schemaBefore).filter { $0 != $1 }
            #expect(schema.count == schemaBefore.count && changed.isEmpty, "the schema changed: \(changed.prefix(3))")
            #expect(try ContentFingerprint.of(path) == before)
        }
    }
}
