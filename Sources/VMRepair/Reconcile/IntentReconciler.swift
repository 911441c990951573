import Foundation
import GRDB
import SQLiteFiles
import VMStore

/// Resolves interrupted provisions: each pending intent whose lease ran out is
/// looked up by its request id in its network's inventory (Crossplane's
/// deterministic-name lookup; the deployer chose the id, the daemon kept it).
///
/// One VM under that id: adopt it. Several: report, change nothing. None: note the
/// miss, and abandon only when an earlier scan, far enough back, missed it too (an
/// inventory can lag behind a create; crossplane/crossplane #3037).
struct IntentReconciler {
    let minimumAge: Double
    let abandonInterval: Double
    let clock: @Sendable () -> Date

    /// Whether the database has provision intents (v4 and later).
    static func hasIntents(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT count(*) > 0 FROM main.sqlite_master WHERE type = 'table' AND name = 'provision_intents'") ?? false
    }

    /// A condition true when the inventory entry `alias` carries the request id of a
    /// pending intent: such a VM is that intent's, never a plain orphan.
    static func matchesPendingIntent(_ alias: String) -> String {
        """
        EXISTS (SELECT 1 FROM main.provision_intents AS p
                WHERE p.state = 'pending' AND p.network = \(alias).network AND p.request_id = \(alias).request_id)
        """
    }

    func reconcile(_ db: Database) throws -> IntentFindings {
        var findings = IntentFindings()
        for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM main.provision_intents GROUP BY state ORDER BY state") {
            findings.states[row[0]] = row[1]
        }
        let now = clock()
        let (nowText, youngest) = (Timestamp.string(from: now), Timestamp.string(from: now.addingTimeInterval(-minimumAge)))
        let lastMissAllowed = Timestamp.string(from: now.addingTimeInterval(-abandonInterval))
        let rows = try Row.fetchCursor(db, sql: """
            SELECT p.network, p.request_id, p.name, p.created_at, p.lease_expires_at, p.first_missed_at,
                   p.network IN (SELECT network FROM temp.repair_sources) AS checked,
                   (SELECT group_concat(i.vm_id, char(10)) FROM temp.repair_inventory AS i
                    WHERE i.network = p.network AND i.request_id = p.request_id) AS vm_ids
            FROM main.provision_intents AS p
            WHERE p.state = ?
            ORDER BY p.created_at, p.network, p.request_id
            """, arguments: [ProvisionState.pending.rawValue])
        while let row = try rows.next() {
            let checked: Bool = row["checked"]
            guard checked else {
                findings.notChecked += 1
                continue
            }
            let createdAt: String = row["created_at"]
            let leaseExpiresAt: String? = row["lease_expires_at"]
            if createdAt > youngest || (leaseExpiresAt.map { $0 > nowText } ?? false) {
                findings.inProgress += 1
                continue
            }
            let vmIDs = (row["vm_ids"] as String?).map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? []
            let firstMissedAt: String? = row["first_missed_at"]
            let resolution: IntentFindings.Resolution = switch (vmIDs.count, firstMissedAt) {
            case (1, _): .adopt
            case (2..., _): .ambiguous
            case (_, nil): .firstMiss
            case (_, let first?): first <= lastMissAllowed ? .abandon : .awaitingSecondScan
            }
            findings.findings.append(IntentFindings.Finding(
                network: row["network"], requestID: row["request_id"], name: row["name"], createdAt: createdAt,
                resolution: resolution, vmIDs: vmIDs.sorted(), firstMissedAt: firstMissedAt))
        }
        return findings
    }
}

/// Applies the intent findings in the run's write transaction: adoptions (with their audit
/// rows), first misses and abandonments. Each intent is read again inside it: one the
/// deployer closed or leased again meanwhile is left as it is.
struct IntentRecorder {
    /// The `vm_repairs.action` of an adopted intent's VM.
    static let adoptedAction = "adopted_intent"

    let clock: @Sendable () -> Date

    func record(_ findings: IntentFindings, from analysis: Database, through writer: VMStore.Writer,
                into applied: inout RepairReport.Applied) throws {
        let actionable = findings.findings.filter(\.resolution.writes)
        guard !actionable.isEmpty else { return }
        let texts = InventoryEntryTexts()
        let recordedAt = UTCTimestamp.string(from: clock())
        let nowText = Timestamp.string(from: clock())
        let entryQuery = try analysis.makeStatement(sql: """
            SELECT i.vm_id, s.path, i.entry_offset, i.entry_length, s.label AS source
            FROM temp.repair_inventory AS i JOIN temp.repair_sources AS s ON s.id = i.source
            WHERE i.network = ? AND i.request_id = ?
            """)
        for finding in actionable {
            // The deployer may have closed it, or taken it up again, since the analysis read.
            guard let intent = try writer.provisionIntent(network: finding.network, requestID: finding.requestID),
                  intent.state == .pending, intent.leaseExpiresAt.map({ $0 <= nowText }) ?? true else {
                applied.intentsChangedMeanwhile += 1
                continue
            }
            switch finding.resolution {
            case .adopt:
                guard let row = try Row.fetchOne(entryQuery, arguments: [finding.network, finding.requestID]) else { continue }
                let entry = try texts.text(path: row["path"], offset: row["entry_offset"], length: row["entry_length"])
                let identity: VMIdentity
                do {
                    identity = try VMIdentity(network: finding.network, vmID: row["vm_id"])
                } catch {
                    throw RepairError(.malformedInput, "the VM listed for request id \(finding.requestID) has an id that cannot be recorded (\(error)); nothing was recorded")
                }
                let source: String = row["source"]
                guard try writer.adoptProvision(requestID: finding.requestID, vm: DaemonFields.newVM(identity, entry: entry)) else {
                    applied.intentsChangedMeanwhile += 1
                    continue
                }
                try writer.recordRepair(identity, action: Self.adoptedAction, source: source, entry: entry, recordedAt: recordedAt)
                applied.intentsAdopted += 1
            case .firstMiss:
                _ = try writer.noteProvisionMissing(network: finding.network, requestID: finding.requestID, abandoning: false, detail: "")
                applied.intentMissesNoted += 1
            case .abandon:
                let detail = "no VM with request id \(finding.requestID) in the daemon's inventory, on \(intent.firstMissedAt ?? "an earlier scan") and on \(nowText)"
                _ = try writer.noteProvisionMissing(network: finding.network, requestID: finding.requestID, abandoning: true, detail: detail)
                applied.intentsAbandoned += 1
            case .ambiguous, .awaitingSecondScan:
                break
            }
        }
    }
}
