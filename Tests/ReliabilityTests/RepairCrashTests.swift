import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// `vmdb repair --apply` SIGKILLed at many moments on a 100,000-VM v3 database
/// with 20,000 orphans to record: afterwards none or all of them are recorded,
/// each with its audit row; the records that were there are untouched; the
/// file is sound; running it again records exactly the rest (idempotence
/// itself is ReconcileTests.applyIsIdempotent).
@Suite(.serialized, .tags(.slow)) struct RepairCrashTests {
    static let orphanCount = Reliability.isHeavy ? 100_000 : 20_000

    static let ciPoints: [(marker: String?, delay: Double)] = [
        ("vmdb: read inventories", 0.05),
        ("vmdb: backup", 0),
        ("vmdb: record orphans", 0),
        ("vmdb: record orphans", 0.1),
        ("vmdb: record orphans", 0.4),
        ("vmdb: record orphans done", 0),
        ("vmdb: record orphans done", 0.05),
    ]

    static var points: [(marker: String?, delay: Double)] {
        guard Reliability.isHeavy else { return ciPoints }
        var points = ciPoints
        for marker in ["vmdb: read inventories", "vmdb: backup", "vmdb: record orphans"] {
            for delay in stride(from: 0.05, through: 2.0, by: 0.3) { points.append((marker, delay)) }
        }
        for step in 1...20 { points.append((nil, Double(step) * 0.5)) }
        return points
    }

    /// Writes a `list_vms` answer for network main: `orphans` VMs the store never recorded, and
    /// (with `listingStore`) every main VM the store holds, as the store describes it (so no drift, no ghosts).
    static func writeInventory(for path: String, orphans: Int, listingStore: Bool = true, to file: String) throws {
        let text = try DatabaseQueue(path: path).read { db in
            try String.fetchOne(db, sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?),
                entries(e) AS (
                    SELECT json_object('vm_id', vm_id, 'name', name, 'status', status, 'node_id', node_id, 'contract_id', contract_id)
                    FROM vms WHERE network = 'main' AND ?
                    UNION ALL
                    SELECT json_object('vm_id', printf('o%05d', i), 'name', 'orphan ' || i || ' "quoted" '';--', 'status', 'running',
                                       'node_id', i % 6000, 'contract_id', 900000 + i, 'ipv4', '10.0.' || (i % 256) || '.1')
                    FROM n)
                SELECT '{"network": "main", "vms": [' || group_concat(e, ',' || char(10)) || ']}' FROM entries
                """, arguments: [orphans, listingStore])
        }
        try Data((text ?? "").utf8).write(to: URL(fileURLWithPath: file))
    }

    static func counts(_ path: String) throws -> (vms: Int, audits: Int, integrity: [String]) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM vms") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM vm_repairs") ?? -1,
             try Reliability.integrity(db))
        }
    }

    static func applied(_ result: VMDBProcess.Result) -> Int? {
        let object = try? JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        return (object?["applied"] as? [String: Any])?["recorded"] as? Int
    }

    @Test func everyKillRecordsAllOrphansOrNone() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("crash-repair")
            let template = directory.file("template.db")
            try LargeDatabase.makeV3(at: template, vms: Reliability.vmCount)
            let inventory = directory.file("main.json")
            // Orphans only: reading the store's 55,000 main VMs back from the file would only slow every run;
            // the store's main VMs are then ghosts, reported (exit 3) and never touched.
            try Self.writeInventory(for: template, orphans: Self.orphanCount, listingStore: false, to: inventory)
            let untouched = ["vms": "id <= \(Reliability.vmCount)"]
            let before = try ContentFingerprint.of(template, filters: untouched)

            var landed = Tally(), outcomes = Tally()
            for (index, point) in Self.points.enumerated() {
                let work = try TemporaryDirectory("crash-repair-point")
                let path = work.file("deployer.db")
                try Reliability.copy(template, to: path)
                let arguments = ["repair", "--db", path, "--inventory", inventory, "--apply", "--progress", "--format", "json"]
                let run = try WatchedProcess.run(arguments, killAt: point.marker, after: point.delay, in: work, label: "kill\(index)")
                let label = "\(point.marker ?? "start") +\(Int(point.delay * 1000)) ms"
                landed.add(run.wasKilled ? Reliability.lastPhase(run.standardError) : "finished before the kill")
                if !run.wasKilled { #expect(run.exitCode == 3, "\(label): \(run.standardError)") }
                if Reliability.isHeavy { print("repair kill \(index + 1)/\(Self.points.count) \(label): \(run.wasKilled ? Reliability.lastPhase(run.standardError) : "finished")") }

                let state = try Self.counts(path)
                #expect(state.integrity == ["ok"], "\(label): \(state.integrity.prefix(3))")
                let recordedAll = state.vms == Reliability.vmCount + Self.orphanCount && state.audits == Self.orphanCount
                let recordedNone = state.vms == Reliability.vmCount && state.audits == 0
                #expect(recordedAll || recordedNone, "\(label): \(state.vms) VMs, \(state.audits) audit rows: a partial record")
                outcomes.add(recordedAll ? "all orphans recorded" : "none recorded")
                #expect(try ContentFingerprint.of(path, filters: untouched) == before, "\(label): existing records changed")
                for backup in Reliability.files(in: work.path, suffix: ".backup") {
                    try Reliability.checkLeftoverBackup(backup, expected: before)
                }

                let again = try Reliability.vmdb(["repair", "--db", path, "--inventory", inventory, "--apply", "--no-backup", "--format", "json"])
                #expect(again.exitCode == 3, "\(label): second run: \(again.standardError)")  // ghosts remain, by design
                #expect(Self.applied(again) == (recordedAll ? 0 : Self.orphanCount), "\(label): second run recorded \(Self.applied(again) ?? -1)")
                let after = try Self.counts(path)
                #expect(after.vms == Reliability.vmCount + Self.orphanCount && after.audits == Self.orphanCount && after.integrity == ["ok"])
            }
            print("repair --apply kill points: \(Self.points.count) tried; landed in: \(landed.summary); outcomes: \(outcomes.summary)")
            #expect(landed.total == Self.points.count)
        }
    }
}
