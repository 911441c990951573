import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport

/// `migrate --online` never loops without end: when the cut-over can never be tried
/// (the deployer changes more rows during every verification than a cut-over checks
/// under its lock) or a batch never fits the lock limit, it stops with
/// ``MigrationError/Code/onlineLagging`` (75), resumable, and the next run finishes.
@Suite(.serialized) struct OnlineBoundsTests {
    typealias Harness = OnlineConvergenceTests

    /// Rows changed during every verification, more than the (lowered) recheck limit:
    /// each snapshot is verified again, without end before the fix. The writes stop
    /// after 20 s, so a run that still loops then cuts over, and the test fails.
    @Test func writesDuringEveryVerificationStopTheCutOverWith75() throws {
        let directory = try TemporaryDirectory("online-resnapshot")
        let (live, shadow) = try Harness.databases(vms: 8, in: directory)
        let writer = try DatabaseQueue(path: live, configuration: Harness.Deployer.configuration)
        let started = Date()
        let written = Harness.Counter()
        var settings = OnlineSettings()
        settings.pause = 0
        settings.recheckLimit = 1
        settings.maxLagSeconds = 1
        settings.afterTransaction = { activity in
            guard activity.hasPrefix("verified"), Date().timeIntervalSince(started) < 20 else { return }
            if (try? writer.write { try $0.execute(sql: "UPDATE vms SET name = name || '+' WHERE rowid IN (1, 2)") }) != nil { written.add(1) }
        }
        let error = #expect(throws: MigrationError.self) {
            _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: settings))
        }
        try writer.close()
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(error?.code == .onlineLagging && error?.kind == .busy, "\(error.map { "\($0)" } ?? "")")
        #expect(error?.message.contains("verifications") == true && error?.message.contains("resumes here") == true, "\(error?.message ?? "")")
        #expect(written.total > 1)
        // Resumable: the state is there, and the next run finishes as offline does.
        #expect(try OnlineSchemaChangeTests.scalar(live, "SELECT count(*) FROM sqlite_master WHERE name = 'vmdb_online_state'") == 1)
        _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: OnlineSettings()))
        let queue = try DatabaseQueue(path: shadow)
        try queue.write { db in
            for _ in 0..<written.total { try db.execute(sql: "UPDATE vms SET name = name || '+' WHERE rowid IN (1, 2)") }
        }
        try queue.close()
        _ = try Fixtures.migrator.migrate(path: shadow, options: Harness.options())
        #expect(try Harness.rows(live) == Harness.rows(shadow))
    }

    /// A lock limit no copy chunk can fit: before the fix, the copy retried at its
    /// minimum size forever.
    @Test func aBatchThatNeverFitsTheLockLimitStopsWith75() throws {
        let directory = try TemporaryDirectory("online-lock-limit")
        let (live, shadow) = try Harness.databases(vms: 3_000, in: directory)
        var settings = OnlineSettings()
        settings.pause = 0
        settings.maxLockMilliseconds = 0.001
        let error = #expect(throws: MigrationError.self) {
            _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: settings))
        }
        #expect(error?.code == .onlineLagging && error?.kind == .busy, "\(error.map { "\($0)" } ?? "")")
        #expect(error?.message.contains("copying vms") == true && error?.message.contains("--max-lock-ms") == true, "\(error?.message ?? "")")
        #expect(try OnlineSchemaChangeTests.scalar(live, "SELECT max(version) FROM vmdb_migrations") == 2)
        // Resumable: with a limit it can fit, the next run finishes as offline does.
        _ = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: OnlineSettings()))
        _ = try Fixtures.migrator.migrate(path: shadow, options: Harness.options())
        #expect(try Harness.rows(live) == Harness.rows(shadow))
    }
}
