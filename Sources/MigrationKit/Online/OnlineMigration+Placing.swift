import GRDB

extension OnlineMigration {
    /// Inserts into the new table what the copy makes now of the old rows `filter`
    /// selects (`filter` gets the driving table's qualified rowid); none of those rows
    /// may be in the new table. Returns how many it inserted.
    ///
    /// A key can move between rows while the copy runs (an `INSERT OR REPLACE` that
    /// re-provisions a VM under a new rowid, an `UPDATE OR REPLACE … SET vm_id = …`, a
    /// delete and re-insert), so a row may take a unique key that the new table still
    /// gives to another row whose change is not applied yet. That holder is stale: its
    /// old row no longer makes that key, or is gone. It is recomputed here, in the same
    /// transaction, before the insert, and so on along a chain of moves; the change log
    /// recomputes it again later, which changes nothing. Only two old rows that truly
    /// make the same key fail the insert, as they fail the offline copy.
    func place(_ db: Database, _ table: OnlinePlan.Table, filter: (String) -> String,
               _ values: [String: any DatabaseValueConvertible]) throws -> Int {
        let alias = table.copy.alias.quotedIdentifier
        try runJoinedSteps(db, table, filter: filter("\(alias).rowid"), values)
        // Nearly every chunk and batch needs no key twice: the plain copy first.
        try db.execute(sql: "SAVEPOINT migrationkit_place")
        do {
            try execute(db, table.copy.sql(filter: filter("\(alias).rowid")), values)
            let count = db.changesCount
            try db.execute(sql: "RELEASE migrationkit_place")
            return count
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
                                                || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            try db.execute(sql: "ROLLBACK TO migrationkit_place")
            try db.execute(sql: "RELEASE migrationkit_place")
        } catch {
            // An interrupted statement may have ended the whole transaction: the caller rolls back.
            try? db.execute(sql: "ROLLBACK TO migrationkit_place")
            try? db.execute(sql: "RELEASE migrationkit_place")
            throw error
        }

        // The new rows wait in a TEMP table while the stale holders of their keys are
        // recomputed beside them.
        let new = "main." + table.newName.quotedIdentifier
        let stage = "temp." + names.stage(table.name).quotedIdentifier
        let columns = table.targets.map(\.quotedIdentifier).joined(separator: ", ")
        try run(db, "CREATE TEMP TABLE IF NOT EXISTS \(stage) AS SELECT * FROM \(new) WHERE 0")
        try run(db, "DELETE FROM \(stage)")
        let staging = "INSERT INTO \(stage) (\(columns))\n"
        try execute(db, staging + table.copy.select(filter: filter("\(alias).rowid")), values)
        let count = db.changesCount
        let stagedRowid = (table.rowidColumn ?? "rowid").quotedIdentifier
        let holders = try Self.uniqueKeys(db, of: table.newName).map { key in
            "SELECT n.rowid FROM \(new) AS n JOIN \(stage) AS s ON "
                + key.map { "n.\($0.column.quotedIdentifier) = s.\($0.column.quotedIdentifier) COLLATE \($0.collation.quotedIdentifier)" }
                    .joined(separator: " AND ")
                + " WHERE n.rowid IS NOT s.\(stagedRowid)"
        }.joined(separator: "\nUNION ")
        // Each round takes at least one row out of the new table: it ends.
        while !holders.isEmpty {
            log?(holders)
            let stale = try Int64.fetchAll(db, sql: holders)
            if stale.isEmpty { break }
            let set = "rowid IN (SELECT value FROM json_each(:migrationkit_holders))"
            let rows: [String: any DatabaseValueConvertible] = ["migrationkit_holders": Self.json(stale)]
            try execute(db, "DELETE FROM \(new) WHERE \(set)", rows)
            for step in table.steps { try execute(db, step.sql(filter: set), rows) }
            try runJoinedSteps(db, table, filter: "\(alias).\(set)", rows)
            try execute(db, staging + table.copy.select(filter: "\(alias).\(set)"), rows)
        }
        try run(db, "INSERT INTO \(new) (\(columns)) SELECT \(columns) FROM \(stage)")
        try run(db, "DELETE FROM \(stage)")
        return count
    }

    /// Runs the row steps of the tables the copy joins on the rows it is about to join:
    /// a joined row the deployer changed may not have had them yet (v3: an event takes its
    /// VM's network, which the step fills in where it is NULL).
    private func runJoinedSteps(_ db: Database, _ table: OnlinePlan.Table, filter: String,
                                _ values: [String: any DatabaseValueConvertible]) throws {
        for (join, steps) in table.joinedSteps {
            let joined = "rowid IN (\(table.copy.joinedRows(join, filter: filter)))"
            for step in steps { try execute(db, step.sql(filter: joined), values) }
        }
    }

    private func run(_ db: Database, _ sql: String) throws {
        log?(sql)
        try db.execute(sql: sql)
    }

    /// The columns (and collations) of each unique index of `table`. A key on an
    /// expression is left out: its holders cannot be looked up, and a conflict on it
    /// fails the insert as before. A partial index's key is looked up whole, which only
    /// recomputes a row more than needed.
    static func uniqueKeys(_ db: Database, of table: String) throws -> [[(column: String, collation: String)]] {
        var keys: [[(column: String, collation: String)]] = []
        for index in try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) WHERE \"unique\" = 1", arguments: [table]) {
            let parts = try Row.fetchAll(db, sql: "SELECT cid, name, coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", arguments: [index])
            guard !parts.isEmpty, !parts.contains(where: { ($0["cid"] as Int) < 0 }) else { continue }
            keys.append(parts.map { (column: $0["name"], collation: $0["coll"] as String? ?? "BINARY") })
        }
        return keys
    }
}
