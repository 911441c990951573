import Foundation
import GRDB

/// The store's SQL, in one place, and the decoding of its rows.
///
/// Every value is a bound parameter. Every statement that names one VM is keyed
/// on both columns of the identity, which the unique index `vms_identity
/// (network, vm_id)` serves.
enum VMQueries {
    /// The statements for one schema (``StoreSchema``), as the rows come back in the
    /// same columns on both: `decodeVM` reads them by position.
    /// A class: one reference to hand around on the lookup path, not a dozen strings.
    final class Statements: Sendable {
        let vmColumns: String
        let selectByPair: String
        let selectByID: String
        let selectNetworksByID: String
        let insert: String
        let delete: String
        let setInstalledVersion: String
        let setAvailableVersion: String
        let setUpdatesCheckedAt: String
        let setStatus: String
        let selectEvents: String
        let insertEvent: String
        /// Rows every listing leaves out: v2 rows with no network have no identity
        /// (`vmdb migrate --default-network` gives them one).
        let identified: String?
        /// Whether `insert` writes `origin` (v2 has no such column).
        let hasOrigin: Bool
        /// Whether the schema has `provision_intents` (v4).
        let hasIntents: Bool

        init(vmColumns: String, selectByPair: String, selectByID: String, selectNetworksByID: String, insert: String,
             delete: String, setInstalledVersion: String, setAvailableVersion: String, setUpdatesCheckedAt: String,
             setStatus: String, selectEvents: String, insertEvent: String, identified: String?, hasIntents: Bool = false) {
            self.vmColumns = vmColumns
            self.selectByPair = selectByPair
            self.selectByID = selectByID
            self.selectNetworksByID = selectNetworksByID
            self.insert = insert
            self.delete = delete
            self.setInstalledVersion = setInstalledVersion
            self.setAvailableVersion = setAvailableVersion
            self.setUpdatesCheckedAt = setUpdatesCheckedAt
            self.setStatus = setStatus
            self.selectEvents = selectEvents
            self.insertEvent = insertEvent
            self.identified = identified
            self.hasOrigin = insert.contains("origin")
            self.hasIntents = hasIntents
        }

        static let v3 = v3Shaped(hasIntents: false)
        /// v4 adds a table and changes none: v3's statements, and the intents.
        static let v4 = v3Shaped(hasIntents: true)

        private static func v3Shaped(hasIntents: Bool) -> Statements {
            Statements(vmColumns: VMQueries.vmColumns, selectByPair: "SELECT \(VMQueries.vmColumns) FROM vms WHERE network = ? AND vm_id = ?",
                       selectByID: VMQueries.selectByIDv3, selectNetworksByID: VMQueries.selectNetworksByIDv3, insert: VMQueries.insertv3,
                       delete: "DELETE FROM vms WHERE network = ? AND vm_id = ? RETURNING \(VMQueries.vmColumns)",
                       setInstalledVersion: update("installed_version"), setAvailableVersion: update("available_version"),
                       setUpdatesCheckedAt: update("updates_checked_at"), setStatus: update("status"),
                       selectEvents: "SELECT id, network, vm_id, kind, at, detail FROM vm_events WHERE network = ? AND vm_id = ? ORDER BY at, id",
                       insertEvent: "INSERT INTO vm_events (network, vm_id, kind, at, detail) VALUES (?, ?, ?, ?, ?)",
                       identified: nil, hasIntents: hasIntents)
        }

        /// On v2 `vm_id` alone is unique (its index serves every lookup) and has
        /// no `origin` (every VM was provisioned); events name the VM by id, and
        /// take their network from it.
        static let v2 = Statements(vmColumns: VMQueries.vmColumnsv2, selectByPair: "SELECT \(VMQueries.vmColumnsv2) FROM vms WHERE network = ? AND vm_id = ?",
                                   selectByID: "SELECT \(VMQueries.vmColumnsv2) FROM vms WHERE vm_id = ? AND network IS NOT NULL AND network <> ''",
                                   selectNetworksByID: "SELECT network FROM vms WHERE vm_id = ? AND network IS NOT NULL AND network <> ''",
                                   insert: """
                                       INSERT INTO vms (network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                                                        cpu, memory_mb, disk_gb, installed_version, created_at, updated_at, metadata)
                                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                                       """,
                                   delete: "DELETE FROM vms WHERE network = ? AND vm_id = ? RETURNING \(VMQueries.vmColumnsv2)",
                                   setInstalledVersion: update("installed_version"), setAvailableVersion: update("available_version"),
                                   setUpdatesCheckedAt: update("updates_checked_at"), setStatus: update("status"),
                                   selectEvents: """
                                       SELECT e.id, v.network, e.vm_id, e.kind, e.at, e.detail FROM vm_events AS e JOIN vms AS v ON v.vm_id = e.vm_id
                                       WHERE v.network = ? AND e.vm_id = ? ORDER BY e.at, e.id
                                       """,
                                   insertEvent: "INSERT INTO vm_events (vm_id, kind, at, detail) SELECT vm_id, ?3, ?4, ?5 FROM vms WHERE network = ?1 AND vm_id = ?2",
                                   identified: "network IS NOT NULL AND network <> ''")

        /// The keyed `UPDATE` of one column.
        func update(_ column: VMColumn) -> String {
            switch column {
            case .installedVersion: setInstalledVersion
            case .availableVersion: setAvailableVersion
            case .updatesCheckedAt: setUpdatesCheckedAt
            case .status: setStatus
            }
        }

        private static func update(_ column: String) -> String {
            "UPDATE vms SET \(column) = ?, updated_at = ? WHERE network = ? AND vm_id = ?"
        }
    }

    /// Every column of `vms` at v3, in the order `decodeVM` reads them.
    static let vmColumns = """
        id, network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist, \
        cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at, created_at, \
        updated_at, metadata, origin
        """
    /// The same at v2, whose VMs were all provisioned.
    static let vmColumnsv2 = vmColumns.replacingOccurrences(of: "metadata, origin", with: "metadata, 'provision' AS origin")

    /// Every VM with this id, one per network. `vm_id` alone has no index (the
    /// identity index leads with `network`), so instead of scanning the table
    /// this walks the distinct networks with one index seek each (a "loose
    /// index scan", https://www.sqlite.org/lang_with.html#recursive_query_examples)
    /// and probes (network, vm_id) in each: a few seeks instead of a full scan.
    static let selectByIDv3 = """
        WITH RECURSIVE networks(name) AS (
            SELECT min(network) FROM vms
            UNION ALL
            SELECT (SELECT min(network) FROM vms WHERE network > networks.name) FROM networks WHERE networks.name IS NOT NULL
        )
        SELECT \(vmColumns.split(separator: ",").map { "vms." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
        FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = ?
        ORDER BY vms.network
        """

    /// The networks that have this id, by the same loose index scan.
    static let selectNetworksByIDv3 = """
        WITH RECURSIVE networks(name) AS (
            SELECT min(network) FROM vms
            UNION ALL
            SELECT (SELECT min(network) FROM vms WHERE network > networks.name) FROM networks WHERE networks.name IS NOT NULL
        )
        SELECT vms.network FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = ?
        ORDER BY vms.network
        """

    static let insertv3 = """
        INSERT INTO vms (network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                         cpu, memory_mb, disk_gb, installed_version, created_at, updated_at, metadata, origin)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    // MARK: Decoding

    /// The `vms` rows of a statement, each read by position straight from the
    /// SQLite statement with GRDB's column decoders.
    ///
    /// Why not a `FetchableRecord`: GRDB's `Row` builds a lowercased
    /// column-name index on every fetch (22 names here), which is a large part
    /// of a lookup by pair; this reads by position only.
    enum VMRows {
        /// The rows for `arguments`, bound by GRDB (listing: not a hot path).
        static func fetchAll(_ statement: Statement, arguments: StatementArguments) throws -> [VMRecord] {
            try statement.setArguments(arguments)
            return try DirectStatement.rows(statement, decode: decode)
        }

        /// The rows of a statement whose parameters are (network, vm_id);
        /// `inTransaction` for a write (delete … RETURNING).
        static func fetchAll(_ statement: Statement, _ identity: VMIdentity, inTransaction: Bool = false) throws -> [VMRecord] {
            try DirectStatement.rows(statement, inTransaction: inTransaction, {
                try DirectStatement.bind($0, 1, identity.network)
                try DirectStatement.bind($0, 2, identity.vmID)
            }, decode: decode)
        }

        /// The rows of a statement whose one parameter is a vm_id.
        static func fetchAll(_ statement: Statement, vmID: String) throws -> [VMRecord] {
            try DirectStatement.rows(statement, { try DirectStatement.bind($0, 1, vmID) }, decode: decode)
        }

        static func decode(_ row: SQLiteStatement) throws -> VMRecord {
            let network = try text(row, 1, "network")
            let vmID = try text(row, 2, "vm_id")
            let identity = VMIdentity(unchecked: network, vmID: vmID)
            func invalid(_ column: String) -> StoreError {
                StoreError(.invalidRecord(identity, column: column, reason: "NULL or a value of the wrong type"))
            }
            func required<T: StatementColumnConvertible>(_ index: CInt, _ column: String) throws -> T {
                guard let value = T.fromStatement(row, atUncheckedIndex: index) else { throw invalid(column) }
                return value
            }
            func optional<T: StatementColumnConvertible>(_ index: CInt, _ column: String) throws -> T? {
                // .some(nil) is NULL; nil is a value that does not convert.
                guard let value = T?.fromStatement(row, atUncheckedIndex: index) else { throw invalid(column) }
                return value
            }
            let originText: String = try required(21, "origin")
            guard let origin = VMOrigin(rawValue: originText) else {
                throw StoreError(.invalidRecord(identity, column: "origin", reason: "expected one of \(VMOrigin.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            return VMRecord(
                rowID: try required(0, "id"), identity: identity, name: try required(3, "name"),
                nodeID: try optional(4, "node_id"), contractID: try optional(5, "contract_id"),
                twinID: try optional(6, "twin_id"), status: VMStatus(rawValue: try required(7, "status")),
                ipv4: try optional(8, "ipv4"), ipv6: try optional(9, "ipv6"), myceliumIP: try optional(10, "mycelium_ip"),
                flist: try optional(11, "flist"), cpu: try optional(12, "cpu"), memoryMB: try optional(13, "memory_mb"),
                diskGB: try optional(14, "disk_gb"), installedVersion: try optional(15, "installed_version"),
                availableVersion: try optional(16, "available_version"),
                updatesCheckedAt: try optional(17, "updates_checked_at"), createdAt: try required(18, "created_at"),
                updatedAt: try required(19, "updated_at"), metadata: try optional(20, "metadata"), origin: origin)
        }

        /// The identity columns, before there is an identity to name in an error.
        private static func text(_ row: SQLiteStatement, _ index: CInt, _ column: String) throws -> String {
            guard let value = String.fromStatement(row, atUncheckedIndex: index) else {
                throw StoreError(.databaseFailure(path: "", resultCode: 0, detail: "a VM row has no \(column) (NOT NULL in the v3 schema): run `vmdb verify`"))
            }
            return value
        }
    }

    struct DecodedEvent: FetchableRecord {
        let event: VMEvent

        init(row: Row) throws {
            event = VMEvent(
                rowID: try row.decode(Int64.self, atIndex: 0),
                identity: VMIdentity(unchecked: try row.decode(String.self, atIndex: 1), vmID: try row.decode(String.self, atIndex: 2)),
                kind: try row.decode(String.self, atIndex: 3),
                at: try row.decode(String.self, atIndex: 4),
                detail: try row.decode(String?.self, atIndex: 5))
        }
    }
}
