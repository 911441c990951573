import Foundation
import GRDB
import SQLiteFiles
import VMStore

/// The store's records copied into a private SQLite file, for a store that is not on a SQLite file
/// (PostgreSQL): repair's analysis then runs on it exactly as on the deployer's own file, the
/// same SQL (``Reconciler``, ``IntentReconciler``) against `main.vms` and `main.provision_intents`,
/// beside the inventories' temporary tables.
///
/// Only the columns the analysis reads are copied, from one snapshot of the store, one network at
/// a time. The folder goes with this object.
final class StoreCopy: Sendable {
    let folder: String
    let analysis: DatabaseQueue

    /// An empty file, for the inventories' temporary tables; ``fill(from:)`` copies the records.
    init() throws {
        do {
            folder = try PrivateDirectory.make("vmdb-repair-copy")
        } catch {
            throw RepairError(.diskFull, "cannot create a temporary folder for a copy of the store's records in \(error.parent) (\(error.reason)); nothing was changed. Set TMPDIR to a writable folder")
        }
        var configuration = Configuration()
        configuration.label = "vmdb.repair.copy"
        do {
            analysis = try DatabaseQueue(path: (folder as NSString).appendingPathComponent("records.sqlite"), configuration: configuration)
            // A scratch file, made again by every run: no journal to keep, nothing to sync.
            try analysis.inDatabase { db in try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE") }
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw RepairError(.diskFull, "cannot create a file for a copy of the store's records in \(folder) (\(error)); nothing was changed. Set TMPDIR to a writable folder")
        }
    }

    /// Copies the records, read from one snapshot of the store.
    ///
    /// - Throws: ``StoreError`` from the store; ``RepairError`` `diskFull` when the copy cannot be written.
    func fill(from store: VMStore) throws {
        do {
            // One transaction: a scratch file's rows need no commit each.
            try analysis.inTransaction { db in
                try Self.fill(db, from: store)
                return .commit
            }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw RepairError(.diskFull, "cannot copy the store's records into \(folder) for the analysis (\(error)); nothing was changed. Free space in TMPDIR, or set it to a folder with room")
        }
    }

    /// The tables as the store's SQLite schema has them, as far as the analysis reads them (node and
    /// contract as integers, so that `CAST(… AS TEXT)` reads as on the deployer's file).
    private static func fill(_ db: Database, from store: VMStore) throws {
        try db.execute(sql: """
            CREATE TABLE vms (
                id          INTEGER PRIMARY KEY,
                network     TEXT NOT NULL,
                vm_id       TEXT NOT NULL,
                name        TEXT NOT NULL,
                node_id     INTEGER,
                contract_id INTEGER,
                status      TEXT NOT NULL,
                origin      TEXT NOT NULL,
                UNIQUE (network, vm_id)
            )
            """)
        let insertVM = try db.makeStatement(sql: """
            INSERT INTO vms (id, network, vm_id, name, node_id, contract_id, status, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try store.readEverything(vms: { records in
            for vm in records {
                try insertVM.execute(arguments: [vm.rowID, vm.network, vm.vmID, vm.name, vm.nodeID, vm.contractID,
                                                 vm.status.rawValue, vm.origin.rawValue])
            }
        }, intents: { intents in
            guard let intents else { return }   // below v4: no table, so the analysis looks for no intents
            try db.execute(sql: """
                CREATE TABLE provision_intents (
                    network          TEXT NOT NULL,
                    request_id       TEXT NOT NULL,
                    name             TEXT NOT NULL,
                    state            TEXT NOT NULL,
                    created_at       TEXT NOT NULL,
                    lease_expires_at TEXT,
                    first_missed_at  TEXT,
                    PRIMARY KEY (network, request_id)
                )
                """)
            let insert = try db.makeStatement(sql: """
                INSERT INTO provision_intents (network, request_id, name, state, created_at, lease_expires_at, first_missed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for intent in intents {
                try insert.execute(arguments: [intent.network, intent.requestID, intent.request.name, intent.state.rawValue,
                                               intent.createdAt, intent.leaseExpiresAt, intent.firstMissedAt])
            }
        })
    }

    deinit {
        try? analysis.close()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
