import Foundation
import PostgresNIO
import VMStore

/// The store's statements on one PostgreSQL connection (``StoreStatements``): the same set as SQLite's
/// at v3 and v4 (`VMQueries.Statements`), with `$n` placeholders, every value bound. Each waits for the
/// server from the caller's thread (``PostgresConnections``).
struct PostgresStatements: StoreStatements {
    let connection: PostgresConnection
    /// In a write transaction: a read that decides a write locks its row (`FOR UPDATE`).
    let isWriting: Bool
    /// The schema version this transaction reads.
    let version: Int
    let location: String

    /// Every column of `vms`, in the order ``decodeVM(_:)`` reads them (as SQLite's `VMQueries.vmColumns`).
    static let vmColumns = """
        id, network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist, \
        cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at, created_at, \
        updated_at, metadata, origin
        """
    private static let qualifiedVMColumns = vmColumns.split(separator: ",")
        .map { "vms." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
    static let intentColumns = """
        network, request_id, name, node_id, cpu, memory_mb, disk_gb, state, vm_id, detail, \
        lease_owner, lease_expires_at, first_missed_at, created_at, updated_at
        """

    /// The networks that have an id, with one index probe per network (a loose index scan, as on
    /// SQLite: `vm_id` alone has no index, and PostgreSQL 15 has no skip scan).
    private static let networksHavingID = """
        WITH RECURSIVE networks(name) AS (
            SELECT min(network) FROM vms
            UNION ALL
            SELECT (SELECT min(network) FROM vms WHERE network > networks.name) FROM networks WHERE networks.name IS NOT NULL
        )
        """

    /// Runs one statement and waits for all its rows.
    @discardableResult
    func run(_ query: PostgresQuery) throws -> PostgresQueryResult {
        try connection.query(query, logger: PostgresConnections.logger).wait()
    }

    // MARK: VMs

    func vm(_ identity: VMIdentity) throws -> VMRecord? {
        try run("SELECT \(unescaped: Self.vmColumns) FROM vms WHERE network = \(identity.network) AND vm_id = \(identity.vmID)")
            .rows.first.map(Self.decodeVM)
    }

    func vms(withID vmID: String) throws -> [VMRecord] {
        try run("""
            \(unescaped: Self.networksHavingID)
            SELECT \(unescaped: Self.qualifiedVMColumns)
            FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = \(vmID)
            ORDER BY vms.network
            """).rows.map(Self.decodeVM)
    }

    func networks(withID vmID: String) throws -> [String] {
        try run("""
            \(unescaped: Self.networksHavingID)
            SELECT vms.network FROM networks JOIN vms ON vms.network = networks.name AND vms.vm_id = \(vmID)
            ORDER BY vms.network
            """).rows.map { try $0.decode(String.self) }
    }

    func list(network: String?, status: VMStatus?) throws -> [VMRecord] {
        try run(filtered(Self.vmColumns, network: network, status: status, suffix: " ORDER BY network, vm_id")).rows.map(Self.decodeVM)
    }

    func count(network: String?, status: VMStatus?) throws -> Int {
        Int(try run(filtered("count(*)", network: network, status: status, suffix: "")).rows.first?.decode(Int64.self) ?? 0)
    }

    func counts() throws -> [VMCount] {
        try run("SELECT network, status, count(*) FROM vms GROUP BY network, status ORDER BY network, status").rows.map { row in
            let (network, status, count) = try row.decode((String, String, Int64).self)
            return VMCount(network: network, status: VMStatus(rawValue: status), count: Int(count))
        }
    }

    func networks() throws -> [String] {
        try run("SELECT DISTINCT network FROM vms ORDER BY network").rows.map { try $0.decode(String.self) }
    }

    func events(_ identity: VMIdentity) throws -> [VMEvent] {
        try run("""
            SELECT id, network, vm_id, kind, at, detail FROM vm_events
            WHERE network = \(identity.network) AND vm_id = \(identity.vmID) ORDER BY at, id
            """).rows.map { row in
            let (id, network, vmID, kind, at, detail) = try row.decode((Int64, String, String, String, String, String?).self)
            return VMEvent(rowID: id, identity: VMIdentity(unchecked: network, vmID: vmID), kind: kind, at: at, detail: detail)
        }
    }

    /// `SELECT columns FROM vms` filtered by the given network and status, each a bound parameter.
    private func filtered(_ columns: String, network: String?, status: VMStatus?, suffix: String) -> PostgresQuery {
        var clauses: [String] = []
        var binds = PostgresBindings()
        if let network {
            binds.append(network)
            clauses.append("network = $\(binds.count)")
        }
        if let status {
            binds.append(status.rawValue)
            clauses.append("status = $\(binds.count)")
        }
        var sql = "SELECT \(columns) FROM vms"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        return PostgresQuery(unsafeSQL: sql + suffix, binds: binds)
    }

    // MARK: Keyed writes

    /// `ON CONFLICT` on the identity: a pair recorded already (by this transaction, or by another,
    /// once it commits: the insert waits for it) inserts nothing and aborts nothing, as SQLite's failed
    /// statement leaves its transaction usable. Two deployer processes inserting the same pair at once:
    /// the second waits on the first's index entry, then finds it, and gets `alreadyRecorded`.
    func insert(_ vm: NewVM, origin: VMOrigin, at timestamp: String) throws -> InsertedRow {
        let identity = vm.identity
        let inserted = try run("""
            INSERT INTO vms (network, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                             cpu, memory_mb, disk_gb, installed_version, created_at, updated_at, metadata, origin)
            VALUES (\(identity.network), \(identity.vmID), \(vm.name), \(vm.nodeID), \(vm.contractID), \(vm.twinID),
                    \(vm.status.rawValue), \(vm.ipv4), \(vm.ipv6), \(vm.myceliumIP), \(vm.flist), \(vm.cpu), \(vm.memoryMB),
                    \(vm.diskGB), \(vm.installedVersion), \(timestamp), \(timestamp), \(vm.metadata), \(origin.rawValue))
            ON CONFLICT (network, vm_id) DO NOTHING
            RETURNING id
            """)
        guard let row = inserted.rows.first else { throw StoreError(.alreadyRecorded(identity)) }
        return InsertedRow(rowID: try row.decode(Int64.self), changed: inserted.metadata.rows ?? inserted.rows.count)
    }

    func delete(_ identity: VMIdentity) throws -> [VMRecord] {
        try run("""
            DELETE FROM vms WHERE network = \(identity.network) AND vm_id = \(identity.vmID) RETURNING \(unescaped: Self.vmColumns)
            """).rows.map(Self.decodeVM)
    }

    func update(_ column: VMColumn, to value: String?, at timestamp: String, _ identity: VMIdentity) throws -> Int {
        // The column's name is one of VMColumn's, never a caller's text.
        try run("""
            UPDATE vms SET \(unescaped: column.rawValue) = \(value), updated_at = \(timestamp)
            WHERE network = \(identity.network) AND vm_id = \(identity.vmID)
            """).metadata.rows ?? 0
    }

    func insertEvent(_ identity: VMIdentity, kind: String, at: String, detail: String?) throws -> InsertedRow {
        let inserted = try run("""
            INSERT INTO vm_events (network, vm_id, kind, at, detail)
            VALUES (\(identity.network), \(identity.vmID), \(kind), \(at), \(detail)) RETURNING id
            """)
        guard let row = inserted.rows.first else { return InsertedRow(rowID: 0, changed: 0) }
        return InsertedRow(rowID: try row.decode(Int64.self), changed: inserted.metadata.rows ?? inserted.rows.count)
    }

    func insertRepair(_ identity: VMIdentity, action: String, source: String, entry: String, recordedAt: String) throws -> Int {
        try run("""
            INSERT INTO vm_repairs (network, vm_id, action, source, entry, recorded_at)
            VALUES (\(identity.network), \(identity.vmID), \(action), \(source), \(entry), \(recordedAt))
            """).metadata.rows ?? 0
    }

    // MARK: Provision intents

    func requireIntents() throws {
        guard version >= VMStore.intentsVersion else {
            throw StoreError(.needsVersion(path: location, found: version, needed: VMStore.intentsVersion, feature: "provision intents"))
        }
    }

    /// In a write transaction, `FOR UPDATE`: the intent's state decides what the transaction writes, and
    /// under READ COMMITTED another deployer could close it meanwhile.
    func intent(network: String, requestID: String) throws -> ProvisionIntent? {
        try run("""
            SELECT \(unescaped: Self.intentColumns) FROM provision_intents
            WHERE network = \(network) AND request_id = \(requestID)\(unescaped: isWriting ? " FOR UPDATE" : "")
            """).rows.first.map(Self.decodeIntent)
    }

    func intents(state: ProvisionState?, network: String?, createdBefore: String?, limit: Int?) throws -> [ProvisionIntent] {
        var clauses: [String] = []
        var binds = PostgresBindings()
        if let state {
            binds.append(state.rawValue)
            clauses.append("state = $\(binds.count)")
        }
        if let network {
            binds.append(network)
            clauses.append("network = $\(binds.count)")
        }
        if let createdBefore {
            binds.append(createdBefore)
            clauses.append("created_at < $\(binds.count)")
        }
        var sql = "SELECT \(Self.intentColumns) FROM provision_intents"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY created_at, network, request_id"
        if let limit {
            binds.append(Int64(limit))
            sql += " LIMIT $\(binds.count)"
        }
        return try run(PostgresQuery(unsafeSQL: sql, binds: binds)).rows.map(Self.decodeIntent)
    }

    func intentCounts() throws -> [ProvisionState: Int] {
        var counts: [ProvisionState: Int] = [:]
        for row in try run("SELECT state, count(*) FROM provision_intents GROUP BY state").rows {
            let (text, count) = try row.decode((String, Int64).self)
            guard let state = ProvisionState(rawValue: text) else { continue }
            counts[state] = Int(count)
        }
        return counts
    }

    func insertIntent(_ request: ProvisionRequest, owner: String, leaseExpiresAt: String, at timestamp: String) throws {
        try run("""
            INSERT INTO provision_intents (network, request_id, name, node_id, cpu, memory_mb, disk_gb, state,
                                           lease_owner, lease_expires_at, created_at, updated_at)
            VALUES (\(request.network), \(request.requestID), \(request.name), \(request.nodeID), \(request.cpu),
                    \(request.memoryMB), \(request.diskGB), \(ProvisionState.pending.rawValue), \(owner), \(leaseExpiresAt),
                    \(timestamp), \(timestamp))
            """)
    }

    func lease(network: String, requestID: String, owner: String, leaseExpiresAt: String, at timestamp: String) throws {
        try run("""
            UPDATE provision_intents SET lease_owner = \(owner), lease_expires_at = \(leaseExpiresAt), updated_at = \(timestamp)
            WHERE network = \(network) AND request_id = \(requestID) AND state = \(ProvisionState.pending.rawValue)
            """)
    }

    func close(network: String, requestID: String, as state: ProvisionState, vmID: String?, detail: String?,
               at timestamp: String) throws -> Int {
        try run("""
            UPDATE provision_intents
            SET state = \(state.rawValue), vm_id = \(vmID), detail = coalesce(\(detail), detail), lease_owner = NULL,
                lease_expires_at = NULL, updated_at = \(timestamp)
            WHERE network = \(network) AND request_id = \(requestID)
            """).metadata.rows ?? 0
    }

    func noteMissed(network: String, requestID: String, at timestamp: String) throws {
        try run("""
            UPDATE provision_intents SET first_missed_at = coalesce(first_missed_at, \(timestamp)), updated_at = \(timestamp)
            WHERE network = \(network) AND request_id = \(requestID)
            """)
    }

    // MARK: Decoding

    static func decodeVM(_ row: PostgresRow) throws -> VMRecord {
        let cells = row.makeRandomAccess()
        guard let network = try? cells[1].decode(String.self), let vmID = try? cells[2].decode(String.self) else {
            throw StoreError(.serverFailure(location: "", sqlState: "", detail: "a VM row has no network or vm_id (NOT NULL in the schema): run `vmdb verify`"))
        }
        let identity = VMIdentity(unchecked: network, vmID: vmID)
        func value<T: PostgresDecodable>(_ index: Int, _ column: String) throws -> T {
            do {
                return try cells[index].decode(T.self)
            } catch {
                throw StoreError(.invalidRecord(identity, column: column, reason: "NULL or a value of the wrong type"))
            }
        }
        let originText: String = try value(21, "origin")
        guard let origin = VMOrigin(rawValue: originText) else {
            throw StoreError(.invalidRecord(identity, column: "origin", reason: "expected one of \(VMOrigin.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        return VMRecord(
            rowID: try value(0, "id"), identity: identity, name: try value(3, "name"),
            nodeID: try value(4, "node_id"), contractID: try value(5, "contract_id"),
            twinID: try value(6, "twin_id"), status: VMStatus(rawValue: try value(7, "status")),
            ipv4: try value(8, "ipv4"), ipv6: try value(9, "ipv6"), myceliumIP: try value(10, "mycelium_ip"),
            flist: try value(11, "flist"), cpu: try value(12, "cpu"), memoryMB: try value(13, "memory_mb"),
            diskGB: try value(14, "disk_gb"), installedVersion: try value(15, "installed_version"),
            availableVersion: try value(16, "available_version"),
            updatesCheckedAt: try value(17, "updates_checked_at"), createdAt: try value(18, "created_at"),
            updatedAt: try value(19, "updated_at"), metadata: try value(20, "metadata"), origin: origin)
    }

    static func decodeIntent(_ row: PostgresRow) throws -> ProvisionIntent {
        let cells = row.makeRandomAccess()
        let network = try cells[0].decode(String.self), requestID = try cells[1].decode(String.self)
        let stateText = try cells[7].decode(String.self)
        guard let state = ProvisionState(rawValue: stateText) else {
            throw StoreError(.intentConflict(network: network, requestID: requestID, reason: "holds state '\(stateText)', which this vmdb does not know; check it with `vmdb verify`"))
        }
        var request = try ProvisionRequest(network: network, requestID: requestID, name: cells[2].decode(String.self))
        request.nodeID = try cells[3].decode(Int64?.self)
        request.cpu = try cells[4].decode(Int64?.self)
        request.memoryMB = try cells[5].decode(Int64?.self)
        request.diskGB = try cells[6].decode(Int64?.self)
        return ProvisionIntent(request: request, state: state, vmID: try cells[8].decode(String?.self), detail: try cells[9].decode(String?.self),
                               leaseOwner: try cells[10].decode(String?.self), leaseExpiresAt: try cells[11].decode(String?.self),
                               firstMissedAt: try cells[12].decode(String?.self), createdAt: try cells[13].decode(String.self),
                               updatedAt: try cells[14].decode(String.self))
    }
}
