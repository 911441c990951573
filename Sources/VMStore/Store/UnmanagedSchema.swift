import GRDB

/// The version of a deployer database that has never seen vmdb (no `vmdb_migrations`),
/// read from the shape of its VM tables, as `vmdb migrate` recognises one before it
/// records a baseline. Every production deployer's file starts so; the store opens it
/// as it is and writes nothing to say so (the history is migrate's to record).
///
/// Only what tells the versions apart and what the store's statements name is looked
/// at: the VM columns, which unique key `vms` has, and whether events carry a network.
/// Columns, indexes and triggers an operator added do not change the answer.
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
        if globalID, !events.contains("network") { return 2 }
        if !globalID, keys.contains(["network", "vm_id"]), vms.contains("origin"), events.contains("network") { return 3 }
        return nil
    }

    private static func columns(_ db: Database, _ table: String) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT lower(name) FROM pragma_table_info(?)", arguments: [table]))
    }

    /// The column lists of the table's unique indexes (UNIQUE constraints included), partial ones left out.
    private static func uniqueKeys(_ db: Database, _ table: String) throws -> Set<[String]> {
        var keys: Set<[String]> = []
        for index in try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\" AND NOT partial", arguments: [table]) {
            keys.insert(try String.fetchAll(db, sql: "SELECT lower(name) FROM pragma_index_info(?) ORDER BY seqno", arguments: [index]))
        }
        return keys
    }
}
