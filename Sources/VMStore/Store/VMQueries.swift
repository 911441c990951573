import Foundation
import GRDB

/// The store's SQL, in one place, and the decoding of its rows.
///
/// Every value is a bound parameter. Every statement that names one VM is keyed
/// on both columns of the identity, which the unique index `vms_identity
/// (network, vm_id)` serves.
enum VMQueries {
    /// Every column of `vms` at v3, in the order `decodeVM` reads them.
    static let vmColumns = """
        id, network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist, \
        cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at, created_at, \
        updated_at, metadata, origin
        """

    static let selectByPair = "SELECT \(vmColumns) FROM vms WHERE network = ? AND vm_id = ?"

    /// Every VM with this id, one per network. `vm_id` alone has no index (the
    /// identity index leads with `network`), so instead of scanning the table
    /// this walks the distinct networks with one index seek each (a "loose
    /// index scan", https://www.sqlite.org/lang_with.html#recursive_query_examples)
    /// and probes (network, vm_id) in each: a few seeks instead of a full scan.
    static let selectByID = """
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
    static let selectNetworksByID = """
        WITH RECURSIVE networks(name) AS (
            SELECT min(network) FROM vms
            UNION ALL
            SELECT (SELECT min(network) FROM vms WHERE network > networks.name) FROM networks WHERE networks.name IS NOT NULL
        )
        SELECT vms.network FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = ?
        ORDER BY vms.network
        """

    static let insert = """
        INSERT INTO vms (network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                         cpu, memory_mb, disk_gb, installed_version, created_at, updated_at, metadata, origin)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static let delete = "DELETE FROM vms WHERE network = ? AND vm_id = ? RETURNING \(vmColumns)"
    static let setInstalledVersion = "UPDATE vms SET installed_version = ?, updated_at = ? WHERE network = ? AND vm_id = ?"
    static let setAvailableVersion = "UPDATE vms SET available_version = ?, updated_at = ? WHERE network = ? AND vm_id = ?"
    static let setUpdatesCheckedAt = "UPDATE vms SET updates_checked_at = ?, updated_at = ? WHERE network = ? AND vm_id = ?"
    static let setStatus = "UPDATE vms SET status = ?, updated_at = ? WHERE network = ? AND vm_id = ?"

    static let eventColumns = "id, network, vm_id, kind, at, detail"
    static let selectEvents = "SELECT \(eventColumns) FROM vm_events WHERE network = ? AND vm_id = ? ORDER BY at, id"
    static let insertEvent = "INSERT INTO vm_events (network, vm_id, kind, at, detail) VALUES (?, ?, ?, ?, ?)"

    /// `SELECT … FROM vms` filtered by the given network and status, in identity order.
    static func filtered(_ select: String, network: String?, status: VMStatus?, ordered: Bool) -> (String, StatementArguments) {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let network {
            clauses.append("network = ?")
            arguments += [network]
        }
        if let status {
            clauses.append("status = ?")
            arguments += [status.rawValue]
        }
        var sql = select
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        if ordered { sql += " ORDER BY network, vm_id" }
        return (sql, arguments)
    }

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

    // MARK: Reads shared by the store and its writer

    static func vm(_ db: Database, _ identity: VMIdentity) throws -> VMRecord? {
        // Stepped to the end (a unique key has no second row), so the statement completes.
        return try VMRows.fetchAll(db.cachedStatement(sql: selectByPair), identity).first
    }

    static func vms(_ db: Database, vmID: String) throws -> [VMRecord] {
        try VMRows.fetchAll(db.cachedStatement(sql: selectByID), vmID: vmID)
    }

    /// The one VM the reference names, by the ambiguity rule.
    static func resolve(_ db: Database, _ reference: VMReference) throws -> VMRecord {
        if let identity = reference.identity {
            guard let record = try vm(db, identity) else { throw StoreError(.notFound(reference)) }
            return record
        }
        let matches = try vms(db, vmID: reference.vmID)
        switch matches.count {
        case 1: return matches[0]
        case 0: throw StoreError(.notFound(reference))
        default: throw StoreError(.ambiguous(vmID: reference.vmID, networks: matches.map(\.network)))
        }
    }

    /// The identity the reference names, by the ambiguity rule, reading no
    /// more than needed: none at all when the network is given (the keyed
    /// write then says whether the pair exists).
    static func resolveIdentity(_ db: Database, _ reference: VMReference) throws -> VMIdentity {
        if let identity = reference.identity { return identity }
        let statement = try db.cachedStatement(sql: selectNetworksByID)
        let networks = try String.fetchAll(statement, arguments: [reference.vmID])
        switch networks.count {
        case 1: return VMIdentity(unchecked: networks[0], vmID: reference.vmID)
        case 0: throw StoreError(.notFound(reference))
        default: throw StoreError(.ambiguous(vmID: reference.vmID, networks: networks))
        }
    }

    static func counts(_ db: Database) throws -> [VMCount] {
        try Row.fetchAll(db, sql: "SELECT network, status, count(*) FROM vms GROUP BY network, status ORDER BY network, status")
            .map { VMCount(network: $0[0], status: VMStatus(rawValue: $0[1]), count: $0[2]) }
    }

    static func networks(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT DISTINCT network FROM vms ORDER BY network")
    }

    static func events(_ db: Database, _ identity: VMIdentity) throws -> [VMEvent] {
        let statement = try db.cachedStatement(sql: selectEvents)
        return try DecodedEvent.fetchAll(statement, arguments: [identity.network, identity.vmID]).map(\.event)
    }
}
