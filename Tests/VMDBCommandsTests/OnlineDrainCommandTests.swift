import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// `vmdb migrate --online --drain later` beside a deployer process: the command says
/// when the deployer got version 3 and returns there; `status` shows the drain left
/// (text and JSON) without touching it, `verify` passes, and the next plain
/// `migrate`, with the deployer still writing, empties the old tables.
@Suite(.serialized) struct OnlineDrainCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func drainLaterReturnsAtTheCutOverAndTheNextMigrateEmptiesTheOldTables() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("online-drain-later-cli")
            let live = directory.file("live.db"), original = directory.file("original.db")
            try LargeDatabase.makeV2(at: live, vms: 3_000)
            try OnlineMigrationTests.copy(live, to: original)
            let deployer = try MixedDeployer(path: live, mode: .bothSchemas, seed: 21, busyTimeout: 1, in: directory)
            deployer.waitForAcknowledged(20)

            let run = try VMDBProcess.run(["migrate", "--db", live, "--online", "--drain", "later", "--no-backup", "--progress",
                                           "--format", "json", "--chunk-ms", "2"])
            #expect(run.exitCode == 0, "\(run.standardError)")
            // Said as it happens, and the command returns there: nothing emptied.
            #expect(run.standardError.contains("vmdb: online: version 3 is in place (cut-over at "), "\(run.standardError)")
            #expect(run.standardError.contains("left for the next migrate run"), "\(run.standardError)")
            #expect(!run.standardError.contains("empty the old"), "\(run.standardError)")
            let report = try Self.json(run.standardOutput)
            let migration = try #require((report["migrations"] as? [[String: Any]])?.first)
            let pending = try #require(migration["pendingDrain"] as? [String: Any], "\(migration.keys)")
            let rowsLeft = try #require(pending["rowsLeft"] as? Int)
            #expect(rowsLeft > 3_000 && pending["interruption"] == nil, "\(pending)")
            let online = try #require((migration["verification"] as? [String: Any])?["online"] as? [String: Any])
            #expect(((online["secondsToCutOver"] as? Double) ?? 0) > 0, "\(online)")

            // The deployer writes v3 meanwhile; status reports the drain and changes nothing.
            let seen = deployer.acknowledged
            deployer.waitForAcknowledged(seen + 20)
            let statusText = try VMDBProcess.run(["status", "--db", live])
            #expect(statusText.exitCode == 0)
            #expect(statusText.standardOutput.contains("schema version: \(FutureMigrations.latestShipped)"), "\(statusText.standardOutput)")
            #expect(statusText.standardOutput.contains("drain pending: \(rowsLeft) rows left in the old tables"), "\(statusText.standardOutput)")
            #expect(statusText.standardOutput.contains("`vmdb migrate --db \(live)`"), "\(statusText.standardOutput)")
            let statusJSON = try VMDBProcess.run(["status", "--db", live, "--format", "json", "--check"])
            #expect(statusJSON.exitCode == 0, "a drain left is no pending migration: \(statusJSON.standardError)")
            let state = try #require(try Self.json(statusJSON.standardOutput)["online"] as? [String: Any])
            #expect(state["phase"] as? String == "drain" && state["isApplied"] as? Bool == true, "\(state)")
            #expect(((state["tables"] as? [[String: Any]]) ?? []).compactMap { $0["rowsLeft"] as? Int }.reduce(0, +) == rowsLeft, "\(state)")
            #expect((state["next"] as? String)?.contains("empties the old tables") == true, "\(state)")
            #expect(try OnlineMigrationTests.leftovers(live).contains("vmdb_old_vms"))
            let verifyDuring = try VMDBProcess.run(["verify", "--db", live])
            #expect(verifyDuring.exitCode == 0, "verify with the drain left: \(verifyDuring.standardOutput)")

            // The next migrate, not online, with the deployer still writing: short transactions only.
            let next = try VMDBProcess.run(["migrate", "--db", live, "--no-backup"])
            #expect(next.exitCode == 0, "\(next.standardError)")
            #expect(next.standardOutput.contains("finished the drain an earlier run left: migration 3's old tables emptied (\(rowsLeft) rows)"), "\(next.standardOutput)")
            let after = deployer.acknowledged
            deployer.waitForAcknowledged(after + 10)
            deployer.stop()
            #expect(deployer.failures.isEmpty, "the deployer's writes failed: \(deployer.failures.prefix(5))")
            try OnlineMigrationTests.expectOracleHolds(live: live, original: original, deployer: deployer, directory: directory)
        }
    }

    /// The deployer takes the write lock right after the cut-over and keeps it past
    /// `--busy-timeout`: the command still exits 0, and says on standard error that the
    /// migration is applied, what stopped the drain, and what finishes it.
    @Test func aDrainStoppedByTheDeployersLockIsAWarningNotAFailure() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("online-drain-stopped-cli")
            let live = directory.file("live.db")
            try LargeDatabase.makeV2(at: live, vms: 3_000)
            let holder = WriteLockHolder(path: live, in: directory)
            defer { holder.stop() }
            let run = try WatchedProcess(["migrate", "--db", live, "--online", "--to", "3", "--no-backup", "--progress",
                                          "--busy-timeout", "0.3", "--chunk-ms", "1"], in: directory, label: "online")
            #expect(run.waitFor("vmdb: online: version 3 is in place"))
            // Frozen between the cut-over and the drain while the holder takes the lock (if the
            // freeze caught a transaction of vmdb's, the holder gets the lock in the gap after it).
            run.pause()
            holder.start(waiting: false)
            let heldWhileFrozen = holder.waitUntilHolding(timeout: 10)
            run.resume()
            #expect(heldWhileFrozen || holder.waitUntilHolding(), "the holder never held the lock")
            let outcome = run.finish()
            holder.stop()
            #expect(outcome.exitCode == 0, "\(outcome.standardError)")
            #expect(outcome.standardError.contains("vmdb: warning: migration 3 is applied (the deployer writes version 3 since its cut-over), but emptying its old tables stopped: "), "\(outcome.standardError)")
            #expect(outcome.standardError.contains("stayed locked by another connection"), "\(outcome.standardError)")
            #expect(outcome.standardError.contains("remain in the old tables; `vmdb migrate --db \(live)` empties them first"), "\(outcome.standardError)")
            #expect(!outcome.standardError.contains("nothing was changed"), "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("drain pending: "), "\(outcome.standardOutput)")
            let status = try VMDBProcess.run(["status", "--db", live, "--format", "json"])
            let state = try #require(try Self.json(status.standardOutput)["online"] as? [String: Any])
            #expect(state["phase"] as? String == "drain", "\(state)")
            let next = try VMDBProcess.run(["migrate", "--db", live, "--no-backup"])
            #expect(next.exitCode == 0 && next.standardOutput.contains("finished the drain an earlier run left"), "\(next.standardOutput) \(next.standardError)")
            #expect(try OnlineMigrationTests.leftovers(live).isEmpty)
        }
    }
}
