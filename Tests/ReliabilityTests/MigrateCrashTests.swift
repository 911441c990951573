import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// `vmdb migrate` SIGKILLed at many moments on a 100,000-VM v2 database: the
/// file is at v2 with its content unchanged, or at v3 complete and verified;
/// never in between, never corrupt; `status` tells which; `migrate` again finishes.
@Suite(.serialized, .tags(.slow)) struct MigrateCrashTests {
    /// A kill point: SIGKILL `delay` seconds after `marker` appears on standard error (nil: after the start).
    struct KillPoint: CustomStringConvertible, Sendable {
        let marker: String?
        let delay: Double
        var description: String { "\(marker ?? "start") +\(Int(delay * 1000)) ms" }
    }

    /// The CI set: every phase of the run, from the backup to the commit and the close.
    static let ciPoints: [KillPoint] = [
        KillPoint(marker: "vmdb: backup", delay: 0),
        KillPoint(marker: "vmdb: backup", delay: 0.03),
        KillPoint(marker: "vmdb: copy vms", delay: 0.15),
        KillPoint(marker: "vmdb: copy vm_events", delay: 0.4),
        KillPoint(marker: "vmdb: copy vm_events done", delay: 0),       // the unique and other indexes being built
        KillPoint(marker: "vmdb: copy vm_events done", delay: 0.3),
        KillPoint(marker: "vmdb: census after vms", delay: 0.2),         // verification: content hashes
        KillPoint(marker: "vmdb: census after vm_events done", delay: 0),   // integrity, foreign keys, invariants
        KillPoint(marker: "vmdb: census after vm_events done", delay: 0.8), // history row, COMMIT
        KillPoint(marker: "vmdb: census after vm_events done", delay: 1.6), // after COMMIT: closing, checkpoint
    ]

    /// The heavy set adds a sweep of delays after each phase start and a uniform sweep from the start.
    static var points: [KillPoint] {
        guard Reliability.isHeavy else { return ciPoints }
        var points = ciPoints
        for marker in ["vmdb: backup", "vmdb: copy vms", "vmdb: copy vm_events", "vmdb: copy vm_events done",
                       "vmdb: census after vms", "vmdb: census after vm_events", "vmdb: census after vm_events done"] {
            for delay in stride(from: 0.05, through: 1.0, by: 0.19) { points.append(KillPoint(marker: marker, delay: delay)) }
        }
        // The whole run is about 5 s at 100,000 VMs (debug build), 60 s at 1,000,000: sweep it uniformly.
        let span = Double(Reliability.vmCount) / 100_000 * 8
        for step in 1...30 { points.append(KillPoint(marker: nil, delay: span * Double(step) / 30)) }
        return points
    }

    @Test func everyKillLeavesTheOldVersionOrTheFullyMigratedOne() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("crash-migrate")
            let template = directory.file("template.db")
            try LargeDatabase.makeV2(at: template, vms: Reliability.vmCount)
            let before = try ContentFingerprint.of(template)
            let schemaBefore = try DatabaseQueue(path: template).read(Reliability.schema)
            #expect(before.tables["vms"]?.rows == Reliability.vmCount)

            var landed = Tally(), outcomes = Tally()
            for (index, point) in Self.points.enumerated() {
                let work = try TemporaryDirectory("crash-point")
                let path = work.file("deployer.db")
                try Reliability.copy(template, to: path)
                let run = try WatchedProcess.run(["migrate", "--db", path, "--progress", "--busy-timeout", "30"],
                                                 killAt: point.marker, after: point.delay, in: work, label: "kill\(index)")
                landed.add(run.wasKilled ? Reliability.lastPhase(run.standardError) : "finished before the kill")
                if !run.wasKilled { #expect(run.exitCode == 0, "\(point): \(run.standardError)") }
                if Reliability.isHeavy { print("migrate kill \(index + 1)/\(Self.points.count) \(point): \(run.wasKilled ? Reliability.lastPhase(run.standardError) : "finished")") }

                // What an operator does next: ask status first, on the file exactly as the crash left it (hot WAL and all).
                let status = try Reliability.reportedVersion(path)
                #expect(status.exitCode == 0, "\(point): status failed after the kill")
                let queue = try DatabaseQueue(path: path)
                let (integrity, version, leftovers, schema) = try queue.read { db in
                    (try Reliability.integrity(db), try Reliability.recordedVersion(db),
                     try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name LIKE '%vmdb_new%'") ?? -1,
                     try Reliability.schema(db))
                }
                try queue.close()
                #expect(integrity == ["ok"], "\(point): \(integrity.prefix(3))")
                #expect((2...FutureMigrations.latestShipped).contains(version), "\(point): version \(version)")
                #expect(status.version == version, "\(point): status says \(status.version ?? -1), history says \(version)")
                #expect(leftovers == 0, "\(point): a half-built table survived")
                #expect(try ContentFingerprint.of(path) == before, "\(point): content changed (at version \(version))")
                if version == 2 {
                    #expect(schema == schemaBefore, "\(point): at version 2 but the schema changed")
                    outcomes.add("left at v2, content unchanged")
                } else {
                    let verify = try Reliability.vmdb(["verify", "--db", path])
                    #expect(verify.exitCode == 0, "\(point): verify after a kill at v3: \(verify.standardOutput)")
                    outcomes.add("at v3, verified")
                }
                for backup in Reliability.files(in: work.path, suffix: ".backup") {
                    try Reliability.checkLeftoverBackup(backup, expected: before)
                }

                // Running migrate again finishes the job.
                let again = try Reliability.vmdb(["migrate", "--db", path, "--no-backup", "--busy-timeout", "30"])
                #expect(again.exitCode == 0, "\(point): second run: \(again.standardError)")
                // (The second run verified itself before its COMMIT; this checks it independently.)
                #expect(try DatabaseQueue(path: path).read(Reliability.recordedVersion) == FutureMigrations.latestShipped)
                #expect(try ContentFingerprint.of(path) == before, "\(point): content changed after the second run")
            }
            print("migrate kill points: \(Self.points.count) tried; landed in: \(landed.summary); outcomes: \(outcomes.summary)")
            #expect(landed.total == Self.points.count)
        }
    }
}
