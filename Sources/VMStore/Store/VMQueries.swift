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

    /// A `vms` row read by index from the live statement (no copy, no column-name lookups).
    struct DecodedVM: FetchableRecord {
        let record: VMRecord

        init(row: Row) throws {
            let identity = VMIdentity(unchecked: try row.decode(String.self, atIndex: 1), vmID: try row.decode(String.self, atIndex: 2))
            let originText = try row.decode(String.self, atIndex: 21)
            guard let origin = VMOrigin(rawValue: originText) else {
                throw StoreError(.invalidRecord(identity, column: "origin", reason: "expected one of \(VMOrigin.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            record = VMRecord(
                rowID: try row.decode(Int64.self, atIndex: 0),
                identity: identity,
                name: try row.decode(String.self, atIndex: 3),
                nodeID: try row.decode(Int64?.self, atIndex: 4),
                contractID: try row.decode(Int64?.self, atIndex: 5),
                twinID: try row.decode(Int64?.self, atIndex: 6),
                status: VMStatus(rawValue: try row.decode(String.self, atIndex: 7)),
                ipv4: try row.decode(String?.self, atIndex: 8),
                ipv6: try row.decode(String?.self, atIndex: 9),
                myceliumIP: try row.decode(String?.self, atIndex: 10),
                flist: try row.decode(String?.self, atIndex: 11),
                cpu: try row.decode(Int64?.self, atIndex: 12),
                memoryMB: try row.decode(Int64?.self, atIndex: 13),
                diskGB: try row.decode(Int64?.self, atIndex: 14),
                installedVersion: try row.decode(String?.self, atIndex: 15),
                availableVersion: try row.decode(String?.self, atIndex: 16),
                updatesCheckedAt: try row.decode(String?.self, atIndex: 17),
                createdAt: try row.decode(String.self, atIndex: 18),
                updatedAt: try row.decode(String.self, atIndex: 19),
                metadata: try row.decode(String?.self, atIndex: 20),
                origin: origin)
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
        let statement = try db.cachedStatement(sql: selectByPair)
        return try DecodedVM.fetchOne(statement, arguments: [identity.network, identity.vmID])?.record
    }

    static func vms(_ db: Database, vmID: String) throws -> [VMRecord] {
        let statement = try db.cachedStatement(sql: selectByID)
        return try DecodedVM.fetchAll(statement, arguments: [vmID]).map(\.record)
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

    static func events(_ db: Database, _ identity: VMIdentity) throws -> [VMEvent] {
        let statement = try db.cachedStatement(sql: selectEvents)
        return try DecodedEvent.fetchAll(statement, arguments: [identity.network, identity.vmID]).map(\.event)
    }
}
