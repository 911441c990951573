import GRDB

/// The version of a deployer database that has never seen vmdb (no `vmdb_migrations`),
/// read from the shape of its VM tables, as `vmdb migrate` recognises one before it
/// records a baseline. Every production deployer's file starts so; the store opens it
/// as it is and writes nothing to say so (the history is migrate's to record).
///
/// Only what tells the versions apart and what the store relies on is looked at: the VM
/// columns, which unique key `vms` has, whether events carry a network, the events' foreign
/// key to their VM with `ON DELETE CASCADE` (a deleted VM takes its events with it; without
/// it a delete would leave them, or be refused), and v3's `vm_repairs`, where repairs are
/// recorded. A file without one of these is not recognised (`notManaged`), as `vmdb migrate`
/// does not recognise it either. Columns, indexes and triggers an operator added do not
/// change the answer.
enum UnmanagedSchema {
    /// The columns of v1's `vms`, which every later version keeps; the store reads them all.
    static let vmColumns: Set<String> = [
        "id", "vm_id", "name", "node_id", "contract_id", "twin_id", "status", "ipv4", "ipv6", "mycelium_ip", "flist",
        "cpu", "memory_mb", "disk_gb", "installed_version", "available_version", "updates_checked_at", "created_at",
        "updated_at", "metadata",
    ]
    static let eventColumns: Set<String> = ["id", "vm_id", "kind", "at", "detail"]

    /// 1, 2 or 3 when the VM tables have that version's shape; nil when they have none of them.
    static func version(_ db: Database) throws -> Int? {
        guard try db.tableExists("vms"), try db.tableExists("vm_events") else { return nil }
        let vms = try columns(db, "vms"), events = try columns(db, "vm_events")
        guard vms.isSuperset(of: vmColumns), events.isSuperset(of: eventColumns) else { return nil }
        let keys = try uniqueKeys(db, "vms")
        let globalID = keys.contains(["vm_id"])
        guard vms.contains("network") else { return globalID ? 1 : nil }
        let cascades = try cascadingKeys(db, from: "vm_events", to: "vms")
        if globalID, !events.contains("network") { return cascades.contains(["vm_id"]) ? 2 : nil }
        if !globalID, keys.contains(["network", "vm_id"]), vms.contains("origin"), events.contains("network"),
           cascades.contains(["network", "vm_id"]), try columns(db, "vm_repairs").isSuperset(of: repairColumns) {
            return 3
        }
        return nil
    }

    /// The columns of v3's `vm_repairs`, which the store writes.
    static let repairColumns: Set<String> = ["network", "vm_id", "action", "source", "entry", "recorded_at"]

    /// The column lists of `table`'s foreign keys to `parent` that delete with it (sorted, lowercased).
    private static func cascadingKeys(_ db: Database, from table: String, to parent: String) throws -> Set<[String]> {
        let rows = try Row.fetchAll(db, sql: """
            SELECT id, lower("from") AS col FROM pragma_foreign_key_list(?)
            WHERE lower("table") = lower(?) AND upper(on_delete) = 'CASCADE' ORDER BY id, seq
            """, arguments: [table, parent])
        return Set(Dictionary(grouping: rows, by: { $0["id"] as Int }).values.map { $0.map { $0["col"] as String }.sorted() })
    }

    private static func columns(_ db: Database, _ table: String) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT lower(name) FROM pragma_table_info(?)", arguments: [table]))
    }

    /// The column lists of the table's unique indexes (UNIQUE constraints included), partial
    /// ones and those on an expression left out: neither can be the identity key.
    private static func uniqueKeys(_ db: Database, _ table: String) throws -> Set<[String]> {
        var keys: Set<[String]> = []
        for index in try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\" AND NOT partial", arguments: [table]) {
            // An expression's key column has cid -2 and no name (pragma_index_xinfo).
            let columns = try Row.fetchAll(db, sql: "SELECT cid, lower(name) AS name FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno", arguments: [index])
            guard columns.allSatisfy({ ($0["cid"] as Int) >= 0 }) else { continue }
            keys.insert(columns.map { $0["name"] as String })
        }
        return keys
    }
}
