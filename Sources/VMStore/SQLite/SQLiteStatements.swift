import Foundation
import GRDB

/// The store's statements on one SQLite connection, in the shape of the schema it reads
/// (``VMQueries/Statements``): the hot ones (provision, lookup by pair, delete) bound and stepped
/// through the C API (``DirectStatement``), the others through GRDB.
struct SQLiteStatements: StoreStatements {
    let database: Database
    let queries: VMQueries.Statements
    let path: String
    /// In a write: set when a statement wrote through the C API, which GRDB's observers cannot see
    /// by themselves (``SQLiteStoreEngine`` then notifies them once, before commit). Nil in a read.
    let unobserved: UnobservedWrites?

    /// ``unobserved``: a class, so that the copies of one transaction's statements share it.
    final class UnobservedWrites {
        var happened = false
    }

    // MARK: VMs

    func vm(_ identity: VMIdentity) throws -> VMRecord? {
        // Stepped to the end (a unique key has no second row), so the statement completes.
        try VMQueries.VMRows.fetchAll(database.cachedStatement(sql: queries.selectByPair), identity).first
    }

    func vms(withID vmID: String) throws -> [VMRecord] {
        try VMQueries.VMRows.fetchAll(database.cachedStatement(sql: queries.selectByID), vmID: vmID)
    }

    func networks(withID vmID: String) throws -> [String] {
        try String.fetchAll(database.cachedStatement(sql: queries.selectNetworksByID), arguments: [vmID])
    }

    func list(network: String?, status: VMStatus?) throws -> [VMRecord] {
        let (sql, arguments) = filtered(queries.vmColumns, network: network, status: status, ordered: true)
        return try VMQueries.VMRows.fetchAll(database.cachedStatement(sql: sql), arguments: arguments)
    }

    func count(network: String?, status: VMStatus?) throws -> Int {
        let (sql, arguments) = filtered("count(*)", network: network, status: status, ordered: false)
        return try Int.fetchOne(database.cachedStatement(sql: sql), arguments: arguments) ?? 0
    }

    func counts() throws -> [VMCount] {
        let (sql, _) = filtered("network, status, count(*)", network: nil, status: nil, ordered: false)
        return try Row.fetchAll(database, sql: sql + " GROUP BY network, status ORDER BY network, status")
            .map { VMCount(network: $0[0], status: VMStatus(rawValue: $0[1]), count: $0[2]) }
    }

    func networks() throws -> [String] {
        let (sql, _) = filtered("DISTINCT network", network: nil, status: nil, ordered: false)
        return try String.fetchAll(database, sql: sql + " ORDER BY network")
    }

    func events(_ identity: VMIdentity) throws -> [VMEvent] {
        let statement = try database.cachedStatement(sql: queries.selectEvents)
        return try VMQueries.DecodedEvent.fetchAll(statement, arguments: [identity.network, identity.vmID]).map(\.event)
    }

    /// `SELECT … FROM vms` filtered by the given network and status, in identity order.
    private func filtered(_ columns: String, network: String?, status: VMStatus?, ordered: Bool) -> (String, StatementArguments) {
        var clauses: [String] = queries.identified.map { [$0] } ?? []
        var arguments: StatementArguments = []
        if let network {
            clauses.append("network = ?")
            arguments += [network]
        }
        if let status {
            clauses.append("status = ?")
            arguments += [status.rawValue]
        }
        var sql = "SELECT \(columns) FROM vms"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        if ordered { sql += " ORDER BY network, vm_id" }
        return (sql, arguments)
    }

    // MARK: Keyed writes

    func insert(_ vm: NewVM, origin: VMOrigin, at timestamp: String) throws -> InsertedRow {
        let identity = vm.identity
        guard queries.hasOrigin || origin == .provision else {
            throw StoreError(.schemaTooOld(path: path, found: 2, expected: VMStore.schemaVersion))
        }
        let statement = try database.cachedStatement(sql: queries.insert)
        do {
            // In the order of VMQueries.insert's columns.
            try DirectStatement.executeInTransaction(statement) { row in
                try DirectStatement.bind(row, 1, identity.network)
                try DirectStatement.bind(row, 2, identity.vmID)
                try DirectStatement.bind(row, 3, vm.name)
                try DirectStatement.bind(row, 4, vm.nodeID)
                try DirectStatement.bind(row, 5, vm.contractID)
                try DirectStatement.bind(row, 6, vm.twinID)
                try DirectStatement.bind(row, 7, vm.status.rawValue)
                try DirectStatement.bind(row, 8, vm.ipv4)
                try DirectStatement.bind(row, 9, vm.ipv6)
                try DirectStatement.bind(row, 10, vm.myceliumIP)
                try DirectStatement.bind(row, 11, vm.flist)
                try DirectStatement.bind(row, 12, vm.cpu)
                try DirectStatement.bind(row, 13, vm.memoryMB)
                try DirectStatement.bind(row, 14, vm.diskGB)
                try DirectStatement.bind(row, 15, vm.installedVersion)
                try DirectStatement.bind(row, 16, timestamp)
                try DirectStatement.bind(row, 17, timestamp)
                try DirectStatement.bind(row, 18, vm.metadata)
                if queries.hasOrigin { try DirectStatement.bind(row, 19, origin.rawValue) }
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            // The failed statement alone was rolled back. Name the pair only
            // when it is the identity that collided, not another unique index
            // an operator may have added.
            if try self.vm(identity) != nil {
                throw StoreError(.alreadyRecorded(identity))
            }
            // v2: the id alone is unique, and another network has it (or a row with none).
            if !queries.hasOrigin, let other = try Row.fetchOne(database, sql: "SELECT network FROM vms WHERE vm_id = ?", arguments: [identity.vmID]) {
                throw StoreError(.idOnAnotherNetwork(identity, existing: (other[0] as String?).flatMap { $0.isEmpty ? nil : $0 } ?? "(none)", path: path))
            }
            throw error
        }
        let changed = database.changesCount
        if changed > 0 { unobserved?.happened = true }
        return InsertedRow(rowID: database.lastInsertedRowID, changed: changed)
    }

    func delete(_ identity: VMIdentity) throws -> [VMRecord] {
        let statement = try database.cachedStatement(sql: queries.delete)
        let deleted = try VMQueries.VMRows.fetchAll(statement, identity, inTransaction: true)
        // Its events go by cascade, and operator triggers may write more.
        if !deleted.isEmpty { unobserved?.happened = true }
        return deleted
    }

    func update(_ column: VMColumn, to value: String?, at timestamp: String, _ identity: VMIdentity) throws -> Int {
        let statement = try database.cachedStatement(sql: queries.update(column))
        try statement.execute(arguments: [value, timestamp, identity.network, identity.vmID])
        return database.changesCount
    }

    func insertEvent(_ identity: VMIdentity, kind: String, at: String, detail: String?) throws -> InsertedRow {
        let statement = try database.cachedStatement(sql: queries.insertEvent)
        try statement.execute(arguments: [identity.network, identity.vmID, kind, at, detail])
        return InsertedRow(rowID: database.lastInsertedRowID, changed: database.changesCount)
    }

    func insertRepair(_ identity: VMIdentity, action: String, source: String, entry: String, recordedAt: String) throws -> Int {
        guard queries.hasOrigin else {   // v2: no vm_repairs (it came with origin, in v3)
            throw StoreError(.schemaTooOld(path: path, found: 2, expected: VMStore.schemaVersion))
        }
        try database.cachedStatement(sql: """
            INSERT INTO vm_repairs (network, vm_id, action, source, entry, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
            """).execute(arguments: [identity.network, identity.vmID, action, source, entry, recordedAt])
        return database.changesCount
    }

    // MARK: Provision intents

    func requireIntents() throws {
        guard queries.hasIntents else {
            let found = (try? Int.fetchOne(database, sql: "SELECT max(version) FROM vmdb_migrations")) ?? nil
            throw StoreError(.needsVersion(path: path, found: found ?? 0, needed: VMStore.intentsVersion, feature: "provision intents"))
        }
    }

    /// In a write, `BEGIN IMMEDIATE` holds the write lock already: no other writer can change the row.
    func intent(network: String, requestID: String) throws -> ProvisionIntent? {
        try IntentRows.one(database, network: network, requestID: requestID)
    }

    func intents(state: ProvisionState?, network: String?, createdBefore: String?, limit: Int?) throws -> [ProvisionIntent] {
        try IntentRows.all(database, state: state, network: network, createdBefore: createdBefore, limit: limit)
    }

    func intentCounts() throws -> [ProvisionState: Int] {
        try IntentRows.counts(database)
    }

    func insertIntent(_ request: ProvisionRequest, owner: String, leaseExpiresAt: String, at timestamp: String) throws {
        try database.cachedStatement(sql: """
            INSERT INTO provision_intents (network, request_id, name, node_id, cpu, memory_mb, disk_gb, state,
                                           lease_owner, lease_expires_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [request.network, request.requestID, request.name, request.nodeID, request.cpu,
                                     request.memoryMB, request.diskGB, ProvisionState.pending.rawValue, owner, leaseExpiresAt,
                                     timestamp, timestamp])
    }

    func lease(network: String, requestID: String, owner: String, leaseExpiresAt: String, at timestamp: String) throws {
        try database.cachedStatement(sql: """
            UPDATE provision_intents SET lease_owner = ?, lease_expires_at = ?, updated_at = ?
            WHERE network = ? AND request_id = ? AND state = ?
            """).execute(arguments: [owner, leaseExpiresAt, timestamp, network, requestID, ProvisionState.pending.rawValue])
    }

    func close(network: String, requestID: String, as state: ProvisionState, vmID: String?, detail: String?,
               at timestamp: String) throws -> Int {
        try database.cachedStatement(sql: """
            UPDATE provision_intents
            SET state = ?, vm_id = ?, detail = coalesce(?, detail), lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
            WHERE network = ? AND request_id = ?
            """).execute(arguments: [state.rawValue, vmID, detail, timestamp, network, requestID])
        return database.changesCount
    }

    func noteMissed(network: String, requestID: String, at timestamp: String) throws {
        try database.cachedStatement(sql: """
            UPDATE provision_intents SET first_missed_at = coalesce(first_missed_at, ?), updated_at = ?
            WHERE network = ? AND request_id = ?
            """).execute(arguments: [timestamp, timestamp, network, requestID])
    }
}
