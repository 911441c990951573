import Foundation
import GRDB

/// The inventories being compared, held in temporary tables on the analysis
/// connection rather than in Swift arrays: a million entries cost pages in a
/// temporary file, not memory, and SQL anti-joins against `vms` find the findings.
///
/// Temporary tables live in SQLite's `temp` database, never in the deployer's
/// file, so report mode writes nothing there.
struct InventoryTable {
    /// One inventory: a file, or one daemon's answer (saved to a file first).
    struct Source {
        let id: Int64
        let label: String
        var network: String?
    }

    private let db: Database
    private let insert: Statement

    /// Creates the temporary tables (dropping any left from an earlier run on this connection).
    init(_ db: Database) throws {
        self.db = db
        try db.execute(sql: """
            DROP TABLE IF EXISTS temp.repair_inventory;
            DROP TABLE IF EXISTS temp.repair_sources;
            CREATE TEMP TABLE repair_sources (
                id      INTEGER PRIMARY KEY,
                label   TEXT NOT NULL,
                path    TEXT NOT NULL,  -- the file the entries' text is read back from
                network TEXT,
                entries INTEGER NOT NULL DEFAULT 0
            );
            -- No index while loading: the unique index is built once, sorted,
            -- after the last entry (and finds duplicate ids as it is built).
            -- The entry's text stays in its file: only its byte range is kept.
            CREATE TEMP TABLE repair_inventory (
                source       INTEGER NOT NULL,
                network      TEXT,
                vm_id        TEXT NOT NULL,
                name         TEXT,
                status       TEXT,
                node         TEXT,
                contract     TEXT,
                request_id   TEXT,
                entry_offset INTEGER NOT NULL,
                entry_length INTEGER NOT NULL
            );
            """)
        insert = try db.makeStatement(sql: """
            INSERT INTO temp.repair_inventory (source, network, vm_id, name, status, node, contract, request_id, entry_offset, entry_length)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
    }

    /// Registers an inventory; its network may be learned only at the end of the file.
    func addSource(label: String, path: String, network: String?) throws -> Source {
        try db.execute(sql: "INSERT INTO temp.repair_sources (label, path, network) VALUES (?, ?, ?)", arguments: [label, path, network])
        return Source(id: db.lastInsertedRowID, label: label, network: network)
    }

    func add(_ entry: InventoryEntry, to source: Source) throws {
        try insert.execute(arguments: [source.id, source.network, entry.vmID, entry.name, entry.status, entry.node,
                                       entry.contract, entry.requestID, entry.range.lowerBound, entry.range.count])
    }

    /// Records the source's network (stated late, at the end of its file) and entry count.
    func finish(_ source: Source, network: String, entries: Int) throws {
        try db.execute(sql: "UPDATE temp.repair_sources SET network = ?, entries = ? WHERE id = ?",
                       arguments: [network, entries, source.id])
        if source.network == nil {
            try db.execute(sql: "UPDATE temp.repair_inventory SET network = ? WHERE source = ?", arguments: [network, source.id])
        }
    }

    /// Indexes the entries by the deployer's request id, for resolving provision intents.
    func indexRequestIDs() throws {
        try db.execute(sql: "CREATE INDEX IF NOT EXISTS temp.repair_inventory_request ON repair_inventory(network, request_id) WHERE request_id IS NOT NULL")
    }

    /// Builds the identity index; a network whose inventories list an id twice is refused.
    ///
    /// - Throws: ``RepairError`` (`duplicateIDs`) naming the first pairs and their sources.
    func index() throws {
        do {
            try db.execute(sql: "CREATE UNIQUE INDEX temp.repair_inventory_identity ON repair_inventory(network, vm_id)")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            let rows = try Row.fetchAll(db, sql: """
                SELECT i.network, i.vm_id, count(*) AS copies, group_concat(DISTINCT s.label) AS sources
                FROM temp.repair_inventory AS i JOIN temp.repair_sources AS s ON s.id = i.source
                GROUP BY i.network, i.vm_id HAVING count(*) > 1
                ORDER BY i.network, i.vm_id LIMIT 5
                """)
            let total = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM (SELECT 1 FROM temp.repair_inventory GROUP BY network, vm_id HAVING count(*) > 1)
                """) ?? rows.count
            let named = rows.map { row -> String in
                let network: String = row["network"], vmID: String = row["vm_id"], copies: Int = row["copies"], sources: String = row["sources"]
                return "\(network)/\(vmID) (\(copies) times, in \(sources))"
            }
            throw RepairError(.duplicateIDs, "the inventory lists \(total) vm id(s) more than once on one network: \(named.joined(separator: "; "))\(total > named.count ? "; …" : ""). An id names one VM per network, so this inventory cannot be trusted; nothing was used or changed. Check the export or the daemon (or --id-field, if the wrong field was taken as the id)")
        }
    }
}
