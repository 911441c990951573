import GRDB

/// Compares the indexed inventories with `vms` in SQL, streaming the findings:
/// one pass over the inventory finds orphans and drift (a left join on the
/// store's `(network, vm_id)` index), one pass over the checked networks'
/// records finds ghosts (an anti-join on the inventory's index).
struct Reconciler {
    let listLimit: Int?
    /// Whether the database has provision intents: a VM carrying a pending intent's
    /// request id is that intent's (``IntentReconciler``), not an orphan.
    var hasIntents = false

    /// The store's columns compared with the daemon's fields, in report order.
    /// A field the daemon leaves out (or sends as null) is not compared: silence is not disagreement.
    static let comparedFields = ["status", "name", "node", "contract"]

    func reconcile(_ db: Database, into report: inout RepairReport) throws {
        let texts = InventoryEntryTexts()
        report.listLimit = listLimit
        try findOrphansAndDrift(db, texts: texts, into: &report)
        try findGhosts(db, into: &report)
        report.networksNotChecked = try String.fetchAll(db, sql: """
            SELECT DISTINCT network FROM main.vms
            WHERE network NOT IN (SELECT network FROM temp.repair_sources) ORDER BY network
            """)
    }

    private func listed(_ count: Int) -> Bool { listLimit.map { count < $0 } ?? true }

    private func findOrphansAndDrift(_ db: Database, texts: InventoryEntryTexts, into report: inout RepairReport) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT i.network, i.vm_id, i.name, i.status, i.node, i.contract, s.label AS source,
                   v.id IS NOT NULL AS known, v.status AS store_status, v.name AS store_name,
                   CAST(v.node_id AS TEXT) AS store_node, CAST(v.contract_id AS TEXT) AS store_contract,
                   s.path, i.entry_offset, i.entry_length,
                   \(hasIntents ? IntentReconciler.matchesPendingIntent("i") : "0") AS pending_intent
            FROM temp.repair_inventory AS i
            JOIN temp.repair_sources AS s ON s.id = i.source
            LEFT JOIN main.vms AS v ON v.network = i.network AND v.vm_id = i.vm_id
            WHERE v.id IS NULL
               OR (i.status IS NOT NULL AND i.status IS NOT v.status)
               OR (i.name IS NOT NULL AND i.name IS NOT v.name)
               OR (i.node IS NOT NULL AND i.node IS NOT CAST(v.node_id AS TEXT))
               OR (i.contract IS NOT NULL AND i.contract IS NOT CAST(v.contract_id AS TEXT))
            ORDER BY i.network, i.vm_id
            """)
        while let row = try rows.next() {
            let known: Bool = row["known"]
            if !known {
                let pendingIntent: Bool = row["pending_intent"]
                if pendingIntent { continue }
                if listed(report.counts.orphans) {
                    report.orphans.append(RepairReport.Orphan(
                        network: row["network"], vmID: row["vm_id"], name: row["name"], status: row["status"],
                        node: row["node"], contract: row["contract"], source: row["source"],
                        entry: try texts.text(path: row["path"], offset: row["entry_offset"], length: row["entry_length"])))
                }
                report.counts.orphans += 1
                continue
            }
            if listed(report.counts.drift) {
                var differences: [RepairReport.Drift.Difference] = []
                for field in Self.comparedFields {
                    guard let daemon: String = row[field] else { continue }
                    let store: String? = row["store_\(field)"]
                    if store != daemon { differences.append(.init(field: field, store: store, daemon: daemon)) }
                }
                report.drift.append(RepairReport.Drift(network: row["network"], vmID: row["vm_id"], source: row["source"],
                                                       differences: differences))
            }
            report.counts.drift += 1
        }
    }

    private func findGhosts(_ db: Database, into report: inout RepairReport) throws {
        // A record marked deleted is expected to be gone from its daemon: not a ghost.
        let rows = try Row.fetchCursor(db, sql: """
            SELECT v.network, v.vm_id, v.name, v.status, v.origin
            FROM main.vms AS v
            WHERE v.network IN (SELECT network FROM temp.repair_sources)
              AND v.status IS NOT 'deleted'
              AND NOT EXISTS (SELECT 1 FROM temp.repair_inventory AS i WHERE i.network = v.network AND i.vm_id = v.vm_id)
            ORDER BY v.network, v.vm_id
            """)
        while let row = try rows.next() {
            if listed(report.counts.ghosts) {
                report.ghosts.append(RepairReport.Ghost(network: row["network"], vmID: row["vm_id"], name: row["name"],
                                                        status: row["status"], origin: row["origin"]))
            }
            report.counts.ghosts += 1
        }
    }
}
