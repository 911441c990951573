import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport

/// The migration is applied at the online cut-over. A run asked to return there
/// (`drain = .later`), or whose drain of the old tables something stops, returns
/// its result with what is left, never an error; the next run, in any mode,
/// empties the old tables first.
@Suite(.serialized) struct OnlineDrainTests {
    typealias Harness = OnlineConvergenceTests

    /// The latest version, migration 3's lock figure and online figures, the online phase, the old tables.
    static func history(_ path: String) throws -> (version: Int, lockMilliseconds: Int, figures: OnlineFigures?, phase: String?, oldTables: [String]) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let version = try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") ?? 0
            let row = try #require(try Row.fetchOne(db, sql: "SELECT lock_ms, verification FROM vmdb_migrations WHERE version = 3"))
            let json: String = row["verification"]
            let record = try JSONDecoder().decode(VerificationRecord.self, from: Data(json.utf8))
            let state = try db.tableExists("vmdb_online_state")
                ? try String.fetchOne(db, sql: "SELECT json_extract(value, '$.phase') FROM vmdb_online_state WHERE key = 'state'") : nil
            let old = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'vmdb_old_%' ORDER BY name")
            return (version, row["lock_ms"], record.online, state, old)
        }
    }

    /// `.later`: the run returns at the cut-over with the old tables whole, and the
    /// history already counts the cut-over's own transaction (a later drain, or none
    /// at all if the file is copied away, must not leave it out).
    @Test func aRunAskedToDrainLaterReturnsAtTheCutOverAndTheNextRunEmptiesTheOldTables() throws {
        let directory = try TemporaryDirectory("online-drain-later")
        let (live, _) = try Harness.databases(vms: 3_000, in: directory)
        let deployer = try Harness.Deployer(path: live, plan: [:])
        var settings = Harness.settings(chunkRows: 500, batch: 200, deployer: deployer)
        settings.drain = .later
        let report = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: settings))
        try deployer.close()
        let result = try #require(report.migrations.first)
        let figures = try #require(result.verification.online)
        let pending = try #require(result.pendingDrain, "the run drained although asked not to")
        #expect(pending.interruption == nil && (pending.rowsLeft ?? 0) >= 6_000, "\(pending)")
        #expect(figures.secondsToCutOver > 0 && figures.secondsToCutOver <= result.seconds + 0.001)
        #expect(figures.drainSeconds == 0)
        #expect(!deployer.activities.contains { $0.hasPrefix("emptying") }, "\(deployer.activities.suffix(5))")

        let left = try Self.history(live)
        #expect(left.version == FutureMigrations.latestShipped && left.phase == "drain" && left.oldTables.count == 2, "\(left)")
        // The history counts the same transactions as the report, the cut-over's included.
        #expect(left.figures?.transactions == figures.transactions, "history \(left.figures?.transactions ?? -1), report \(figures.transactions)")
        #expect(left.lockMilliseconds == Int(figures.longestTransactionMilliseconds.rounded()))
        #expect(Double(left.lockMilliseconds) >= figures.cutOverMilliseconds.rounded(.down))

        // A plain run (nothing pending) empties and drops them, and says so.
        let next = try Fixtures.migrator.migrate(path: live, options: Harness.options())
        let finished = try #require(next.finishedEarlierRun)
        #expect(finished.version == 3 && finished.work == .drain && finished.rows == pending.rowsLeft, "\(finished)")
        #expect(next.migrations.isEmpty)
        let done = try Self.history(live)
        #expect(done.phase == nil && done.oldTables.isEmpty, "\(done)")
        #expect((done.figures?.drainSeconds ?? 0) > 0 && (done.figures?.transactions ?? 0) > figures.transactions, "\(String(describing: done.figures))")
    }

    /// The deployer takes the write lock right after the cut-over and keeps it past the
    /// migrator's busy timeout. Migrating to 3: the run returns version 3 (the drain's
    /// failure is a ``PendingDrain``, not an error). Migrating on to 4: it stops before 4
    /// (busy, as the lock would stop 4 too), saying that 3 is applied. Either way the
    /// next run empties the old tables first.
    @Test(arguments: [3, nil] as [Int?])
    func aDrainStoppedByTheLockLeavesTheMigrationApplied(to target: Int?) throws {
        let directory = try TemporaryDirectory("online-drain-stopped")
        let (live, _) = try Harness.databases(vms: 2_000, in: directory)
        let holder = WriteLockHolder(path: live, in: directory)
        defer { holder.stop() }
        var settings = OnlineSettings()
        settings.chunkRows = 500
        settings.afterTransaction = { activity in
            if activity.hasPrefix("cutting over") { holder.start() }
        }
        var options = Harness.options(online: settings)
        options.busyTimeout = 0.3
        options.targetVersion = target
        var rowsLeft: Int?
        if target == 3 {
            let report = try Fixtures.migrator.migrate(path: live, options: options)
            let pending = try #require(report.migrations.first?.pendingDrain)
            #expect(report.toVersion == 3 && pending.interruption?.contains("stayed locked by another connection") == true, "\(pending)")
            #expect(pending.interruption?.contains("nothing was changed") == false, "\(pending)")
            rowsLeft = pending.rowsLeft
        } else {
            let error = try #require(throws: MigrationError.self) { try Fixtures.migrator.migrate(path: live, options: options) }
            #expect(error.code == .locked, "\(error)")
            #expect(error.message.hasPrefix("migration 3 (network_identity) is applied: the deployer writes version 3 since its cut-over. Emptying its old tables then stopped ("), "\(error.message)")
            #expect(error.message.contains("so migration 4 was not started. Run the migration again: it empties the old tables first"), "\(error.message)")
        }
        #expect(holder.isHolding, "the lock holder never held the lock")
        holder.stop()
        let left = try Self.history(live)
        #expect(left.version == 3 && left.phase == "drain" && left.oldTables.count == 2, "\(left)")
        #expect((rowsLeft ?? 4_000) >= 4_000, "\(String(describing: rowsLeft))")

        let next = try Fixtures.migrator.migrate(path: live, options: Harness.options())
        #expect(next.finishedEarlierRun?.work == .drain && (next.finishedEarlierRun?.rows ?? 0) >= 4_000, "\(String(describing: next.finishedEarlierRun))")
        if let rowsLeft { #expect(next.finishedEarlierRun?.rows == rowsLeft) }
        let done = try Self.history(live)
        #expect(done.version == FutureMigrations.latestShipped && done.phase == nil && done.oldTables.isEmpty, "\(done)")
    }
}
