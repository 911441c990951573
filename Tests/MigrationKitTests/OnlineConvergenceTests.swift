import Foundation
import GRDB
import MigrationKit
import PropertyBased
import Testing
import VMDBTestSupport

/// The online migration from v2 to v3 beside a deployer that moves keys between rows
/// (`INSERT OR REPLACE`, `UPDATE OR REPLACE … SET vm_id`, a rowid reused), writing
/// between the migrator's transactions: the result must be what the offline migration
/// makes of the same writes, rows with their rowids.
///
/// The deployer here is a second connection of plain SQL, run from the migrator's
/// test seam (``OnlineSettings/afterTransaction``) at chosen chunk and batch
/// boundaries, so each interleaving is exact and repeatable.
@Suite(.serialized) struct OnlineConvergenceTests {
    /// A deployer write: statements in one transaction. A VM's events go with it, as
    /// a deployer with foreign keys on would have them go (v2's key has no ON UPDATE).
    struct Write: Sendable, CustomStringConvertible {
        let statements: [(sql: String, arguments: [DatabaseValue])]
        var description: String { statements.map { "\($0.sql) \($0.arguments)" }.joined(separator: "; ") }

        init(_ statements: [(String, [(any DatabaseValueConvertible)?])]) {
            self.statements = statements.map { ($0.0, $0.1.map { $0?.databaseValue ?? .null }) }
        }

        func run(_ db: Database) throws {
            for statement in statements { try db.execute(sql: statement.sql, arguments: StatementArguments(statement.arguments)) }
        }

        static let dropEvents = "DELETE FROM vm_events WHERE vm_id IN (SELECT vm_id FROM vms WHERE id IS ? OR vm_id IS ? OR vm_id IS ?)"

        static func replace(_ vmID: String, network: String?, rowid: Int64? = nil) -> Write {
            Write([(dropEvents, [rowid, vmID, nil]),
                   ("INSERT OR REPLACE INTO vms (id, vm_id, network, name, created_at, updated_at) VALUES (?, ?, ?, 're-provisioned', 'c', 'u')",
                    [rowid, vmID, network])])
        }
        static func move(_ from: String, to: String) -> Write {
            Write([(dropEvents, [nil, from, to]), ("UPDATE OR REPLACE vms SET vm_id = ? WHERE vm_id = ?", [to, from])])
        }
        static func delete(_ vmID: String) -> Write {
            Write([(dropEvents, [nil, vmID, nil]), ("DELETE FROM vms WHERE vm_id = ?", [vmID])])
        }
        static func rename(_ vmID: String) -> Write { Write([("UPDATE vms SET name = name || '+' WHERE vm_id = ?", [vmID])]) }
        static func event(_ vmID: String) -> Write {
            Write([("INSERT INTO vm_events (vm_id, kind, at) SELECT vm_id, 'touched', 'now' FROM vms WHERE vm_id = ?", [vmID])])
        }
    }

    /// What ran where: the migrator's committed transactions in order, and the writes acknowledged.
    final class Deployer: @unchecked Sendable {
        private let lock = NSLock()
        private let queue: DatabaseQueue
        /// Writes to make after the migrator's n-th committed copy or change-batch transaction.
        private var plan: [Int: [Write]]
        private var boundaries = 0
        private(set) var activities: [String] = []
        private(set) var acknowledged: [Write] = []
        private(set) var failures: [String] = []

        /// Made after every change batch, as long as the run lasts (sustained load).
        private let everyBatch: Write?

        init(path: String, plan: [Int: [Write]], everyBatch: Write? = nil) throws {
            queue = try DatabaseQueue(path: path, configuration: Self.configuration)
            self.plan = plan
            self.everyBatch = everyBatch
        }

        /// The seam's call: only between copy chunks and change batches, where the old schema serves.
        func after(_ activity: String) {
            lock.withLock {
                activities.append(activity)
                guard activity.hasPrefix("copying") || activity.hasPrefix("applying") else { return }
                defer { boundaries += 1 }
                let load = activity.hasPrefix("applying") ? everyBatch.map { [$0] } ?? [] : []
                for write in (plan.removeValue(forKey: boundaries) ?? []) + load {
                    do {
                        try queue.inTransaction { try write.run($0); return .commit }
                        acknowledged.append(write)
                    } catch {
                        failures.append("\(write): \(error)")
                    }
                }
            }
        }

        func close() throws { try queue.close() }

        /// As a plain sqlite3 client writes: foreign keys off (SQLite's default).
        static var configuration: Configuration {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = false
            return configuration
        }
    }

    static let networks: [String?] = ["main", "qa", nil]

    /// A v2 database with VMs `vm0…` (rowids 1…) and one event each, and a copy of it.
    static func databases(vms: Int, in directory: TemporaryDirectory) throws -> (live: String, shadow: String) {
        let live = try Fixtures.database(version: 2, in: directory, name: "live.db")
        try Fixtures.insertV2((0..<vms).map { (networks[$0 % 2], "vm\($0)") }, into: live)
        let shadow = directory.file("shadow.db")
        try FileManager.default.copyItem(atPath: live, toPath: shadow)
        return (live, shadow)
    }

    static func settings(chunkRows: Int, batch: Int, deployer: Deployer) -> OnlineSettings {
        var settings = OnlineSettings()
        settings.pause = 0
        settings.chunkRows = chunkRows
        settings.changeBatchLimit = batch
        settings.afterTransaction = { deployer.after($0) }
        return settings
    }

    static func options(online: OnlineSettings? = nil) -> MigrationOptions {
        var options = MigrationOptions()
        options.parameters = ["default_network": "main"]
        options.takesBackup = false
        options.online = online
        return options
    }

    /// Every row with its rowid, per migrated table.
    static func rows(_ path: String) throws -> [String: [[DatabaseValue]]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            var result: [String: [[DatabaseValue]]] = [:]
            for table in ["vms", "vm_events"] {
                result[table] = try Row.fetchAll(db, sql: "SELECT rowid, * FROM \(table) ORDER BY rowid").map { Array($0.databaseValues) }
            }
            result["leftovers"] = try Row.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'vmdb\\_%' ESCAPE '\\' AND name <> 'vmdb_migrations'")
                .map { Array($0.databaseValues) }
            return result
        }
    }

    /// Migrates `live` online beside `plan`, the shadow offline with the acknowledged
    /// writes; returns the online error, if any, and both files' rows.
    static func run(vms: Int, chunkRows: Int, batch: Int, plan: [Int: [Write]]) throws
        -> (error: (any Error)?, deployer: Deployer, online: [String: [[DatabaseValue]]], offline: [String: [[DatabaseValue]]]) {
        let directory = try TemporaryDirectory("online-convergence")
        let (live, shadow) = try databases(vms: vms, in: directory)
        let deployer = try Deployer(path: live, plan: plan)
        var failure: (any Error)?
        do {
            _ = try Fixtures.migrator.migrate(path: live, options: options(online: settings(chunkRows: chunkRows, batch: batch, deployer: deployer)))
        } catch {
            failure = error
        }
        try deployer.close()
        let queue = try DatabaseQueue(path: shadow, configuration: Deployer.configuration)
        try queue.write { db in for write in deployer.acknowledged { try write.run(db) } }
        try queue.close()
        _ = try Fixtures.migrator.migrate(path: shadow, options: options())
        return (failure, deployer, try rows(live), try rows(shadow))
    }

    /// The seam's boundaries, counted as ``Deployer/after(_:)`` counts them.
    static func boundaries(_ deployer: Deployer) -> [String] {
        deployer.activities.filter { $0.hasPrefix("copying") || $0.hasPrefix("applying") }
    }

    /// Whether every write was acknowledged and the online result is the offline one.
    static func expectConverged(_ outcome: (error: (any Error)?, deployer: Deployer, online: [String: [[DatabaseValue]]], offline: [String: [[DatabaseValue]]]),
                                writes: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
        #expect(outcome.deployer.acknowledged.count == writes && outcome.deployer.failures.isEmpty, "\(outcome.deployer.failures)", sourceLocation: sourceLocation)
        #expect(outcome.online == outcome.offline, sourceLocation: sourceLocation)
    }

    /// vm0 (row 1, copied) re-provisioned by INSERT OR REPLACE as row 6 after the change
    /// batch before the last chunk: that chunk copies row 6 while the new table still
    /// gives (main, vm0) to row 1, whose deletion is not applied yet.
    @Test func aKeyMovedToANewRowAcrossAChunkBoundaryConverges() throws {
        let outcome = try Self.run(vms: 5, chunkRows: 3, batch: 100, plan: [
            0: [.rename("vm1")],   // after the first chunk: a change, so a batch runs next
            1: [.replace("vm0", network: "main")],   // after that batch, before the last chunk
        ])
        let seen = Self.boundaries(outcome.deployer)
        #expect(seen.count > 2 && seen[0].hasPrefix("copying") && seen[1].hasPrefix("applying") && seen[2].hasPrefix("copying"),
                "the writes did not land where the test means them to: \(seen)")
        Self.expectConverged(outcome, writes: 2)
    }

    /// The same with a rowid reused: vm0 re-provisioned as row 6 (vm5's), in the next chunk.
    @Test func aRowidReusedForAMovedKeyAcrossAChunkBoundaryConverges() throws {
        let outcome = try Self.run(vms: 6, chunkRows: 2, batch: 100, plan: [
            1: [.rename("vm1")],
            2: [.replace("vm0", network: "main", rowid: 6)],
        ])
        let seen = Self.boundaries(outcome.deployer)
        #expect(seen.count > 3 && seen[2].hasPrefix("applying") && seen[3].hasPrefix("copying"), "\(seen)")
        Self.expectConverged(outcome, writes: 2)
    }

    /// vm2 leaves its id, vm0 takes it, vm2 takes vm0's (rows 1 and 3, both on main,
    /// both copied): the batch holding row 3's change alone needs (main, vm0) while the
    /// new table still gives it to row 1.
    @Test func keysSwappedAcrossABatchBoundaryConverge() throws {
        let outcome = try Self.run(vms: 12, chunkRows: 3, batch: 1, plan: [
            0: [.move("vm2", to: "spare"), .move("vm0", to: "vm2"), .move("spare", to: "vm0")],
        ])
        let seen = Self.boundaries(outcome.deployer)
        #expect(seen.count > 2 && seen[1].hasPrefix("applying") && seen[2].hasPrefix("copying"), "\(seen)")
        Self.expectConverged(outcome, writes: 3)
    }

    /// Three keys rotated (vm0 -> vm2 -> vm4 -> vm0, rows 1, 3, 5 on main): the stale
    /// holders are followed along the chain within one batch.
    @Test func keysRotatedAlongAChainConverge() throws {
        let outcome = try Self.run(vms: 18, chunkRows: 6, batch: 1, plan: [
            0: [.move("vm4", to: "spare"), .move("vm2", to: "vm4"), .move("vm0", to: "vm2"), .move("spare", to: "vm0")],
        ])
        Self.expectConverged(outcome, writes: 4)
    }

    /// vm2 re-provisioned with no network (the migration's step gives it the default) and
    /// a new event for it, while the events are being copied, one change per batch: the
    /// chunk copying the event joins the new VM row before that row's change is applied,
    /// so the step must run on the joined row first (found by the property test below).
    @Test func anEventJoiningAVMWhoseStepIsNotAppliedYetConverges() throws {
        let outcome = try Self.run(vms: 8, chunkRows: 3, batch: 1, plan: [
            3: [.replace("vm2", network: nil), .event("vm2")],
        ])
        let seen = Self.boundaries(outcome.deployer)
        #expect(seen.count > 3 && seen[3] == "copying vm_events", "\(seen)")
        Self.expectConverged(outcome, writes: 2)
    }

    // MARK: The property

    static let ids = ["vm0", "vm1", "vm2", "vm3", "vm4"]

    /// Writes that move keys about: shrinks toward renaming vm0.
    static let write = zip(Gen.int(in: 0...5), Gen.int(in: 0...4), Gen.int(in: 0...4), Gen.int(in: 0...2), Gen.int(in: 1...9)).map {
        kind, first, second, network, rowid -> Write in
        switch kind {
        case 0: return .rename(ids[first])
        case 1: return .replace(ids[first], network: networks[network])
        case 2: return .move(ids[first], to: ids[second])
        case 3: return .delete(ids[first])
        case 4: return .replace(ids[first], network: networks[network], rowid: Int64(rowid))
        default: return .event(ids[first])
        }
    }

    /// Random key moves, replaces and deletes at random chunk and batch boundaries, with
    /// random chunk and batch sizes: online and offline agree, and the deployer never fails.
    @Test func onlineEqualsOfflineWhateverTheKeysDo() async {
        let written = Counter()
        await propertyCheck(count: 40, input: Self.write.array(of: 0...3).array(of: 1...12), Gen.int(in: 1...3), Gen.int(in: 1...3)) {
            groups, chunkRows, batch in
            var plan: [Int: [Write]] = [:]
            for (boundary, writes) in groups.enumerated() where !writes.isEmpty { plan[boundary] = writes }
            let outcome = try Self.run(vms: 8, chunkRows: chunkRows, batch: batch, plan: plan)
            #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "") after \(outcome.deployer.acknowledged)")
            #expect(outcome.deployer.failures.isEmpty, "\(outcome.deployer.failures)")
            #expect(outcome.online == outcome.offline, "after \(outcome.deployer.acknowledged)")
            written.add(outcome.deployer.acknowledged.count)
        }
        // The writes landed during the runs, not after them.
        #expect(written.total > 100, "only \(written.total) writes were made during the runs")
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var sum = 0
        func add(_ count: Int) { lock.withLock { sum += count } }
        var total: Int { lock.withLock { sum } }
    }
}
