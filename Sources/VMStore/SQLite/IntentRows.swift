import GRDB

/// Reading `provision_intents` rows.
enum IntentRows {
    static let columns = """
        network, request_id, name, node_id, cpu, memory_mb, disk_gb, state, vm_id, detail, \
        lease_owner, lease_expires_at, first_missed_at, created_at, updated_at
        """

    static func one(_ db: Database, network: String, requestID: String) throws -> ProvisionIntent? {
        let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM provision_intents WHERE network = ? AND request_id = ?")
        return try Row.fetchOne(statement, arguments: [network, requestID]).map(decode)
    }

    /// The intents in `state` (any when nil) on `network` (all when nil) created before
    /// `createdBefore` (any time when nil), oldest first, at most `limit`.
    static func all(_ db: Database, state: ProvisionState?, network: String?, createdBefore: String?, limit: Int?) throws -> [ProvisionIntent] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let state {
            clauses.append("state = ?")
            arguments += [state.rawValue]
        }
        if let network {
            clauses.append("network = ?")
            arguments += [network]
        }
        if let createdBefore {
            clauses.append("created_at < ?")
            arguments += [createdBefore]
        }
        var sql = "SELECT \(columns) FROM provision_intents"
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY created_at, network, request_id"
        if let limit {
            sql += " LIMIT ?"
            arguments += [limit]
        }
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map(decode)
    }

    /// Intent counts by state.
    static func counts(_ db: Database) throws -> [ProvisionState: Int] {
        var counts: [ProvisionState: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT state, count(*) FROM provision_intents GROUP BY state") {
            let text: String = row[0]
            guard let state = ProvisionState(rawValue: text) else { continue }
            counts[state] = row[1]
        }
        return counts
    }

    static func decode(_ row: Row) throws -> ProvisionIntent {
        let network: String = row[0], requestID: String = row[1], stateText: String = row[7]
        guard let state = ProvisionState(rawValue: stateText) else {
            throw StoreError(.intentConflict(network: network, requestID: requestID, reason: "holds state '\(stateText)', which this vmdb does not know; check it with `vmdb verify`"))
        }
        var request = try ProvisionRequest(network: network, requestID: requestID, name: row[2])
        (request.nodeID, request.cpu, request.memoryMB, request.diskGB) = (row[3], row[4], row[5], row[6])
        return ProvisionIntent(request: request, state: state, vmID: row[8], detail: row[9], leaseOwner: row[10],
                               leaseExpiresAt: row[11], firstMissedAt: row[12], createdAt: row[13], updatedAt: row[14])
    }
}
