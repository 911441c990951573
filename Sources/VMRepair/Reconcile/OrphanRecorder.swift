import Foundation
import SQLiteFiles
import GRDB
import VMStore

/// Records orphans in the store, each with its audit row, in the run's write transaction.
struct OrphanRecorder {
    /// The `vm_repairs.action` of a recorded orphan.
    static let recordedAction = "recorded_orphan"

    let clock: @Sendable () -> Date
    /// Whether the database has provision intents (whose VMs are not orphans).
    var hasIntents = false

    /// Streams the orphans from the analysis connection and records each one
    /// through the store's writer (on any engine): all of them commit together, or none does.
    ///
    /// Each orphan is checked again inside the transaction, so one the deployer
    /// recorded meanwhile is skipped rather than failing the run.
    func record(from analysis: Database, through writer: VMStore.Writer) throws -> RepairReport.Applied {
        var applied = RepairReport.Applied()
        let recordedAt = UTCTimestamp.string(from: clock())
        let texts = InventoryEntryTexts()
        let orphans = try Row.fetchCursor(analysis, sql: """
            SELECT i.network, i.vm_id, s.path, i.entry_offset, i.entry_length, s.label AS source
            FROM temp.repair_inventory AS i JOIN temp.repair_sources AS s ON s.id = i.source
            WHERE NOT EXISTS (SELECT 1 FROM main.vms AS v WHERE v.network = i.network AND v.vm_id = i.vm_id)
              AND NOT \(hasIntents ? IntentReconciler.matchesPendingIntent("i") : "0")
            ORDER BY i.network, i.vm_id
            """)
        do {
            while let row = try orphans.next() {
                let entry = try texts.text(path: row["path"], offset: row["entry_offset"], length: row["entry_length"])
                let identity: VMIdentity
                do {
                    identity = try VMIdentity(network: row["network"], vmID: row["vm_id"])
                } catch {
                    throw RepairError(.malformedInput, "an inventory entry's id cannot be recorded (\(error)); nothing was recorded")
                }
                if try writer.vm(identity) != nil {
                    applied.alreadyRecorded += 1
                    continue
                }
                do {
                    try writer.provision(DaemonFields.newVM(identity, entry: entry), origin: .repair)
                } catch let error as StoreError where error.code == .unstorableText {
                    throw RepairError(.malformedInput, "the daemon's entry for orphan \(identity) cannot be recorded as it is: its \(error.column ?? "text") contains a NUL character (U+0000), which the database cannot keep as it is; nothing was recorded. Fix the daemon's answer, or record this VM by hand")
                }
                let source: String = row["source"]
                try writer.recordRepair(identity, action: Self.recordedAction, source: source, entry: entry, recordedAt: recordedAt)
                applied.recorded += 1
            }
        }
        return applied
    }
}
