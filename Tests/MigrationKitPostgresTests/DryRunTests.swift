import Foundation
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import Testing
import VMDBTestSupport

/// The dry run on the real server: the pending migrations run on a scratch copy filled from one
/// snapshot, record there what a real run records, and the live database's schema and history
/// stay as they were; the scratch database is gone after, a failed migration included, and one a
/// killed dry run left is dropped by the next.
@Suite struct DryRunTests {
    @Test func aDryRunReportsWhatTheRealRunRecordsAndTouchesNothing() async throws {
        try await ScratchDatabase.with { database in
            try await PostgresBackupFixture.atVersion2(database)
            let migrator = PostgresBackupFixture.migrator
            let content = try await PostgresBackupFixture.content(database)
            let schema = try await PostgresBackupFixture.schema(database)

            let report = try await migrator.dryRun(database.location)
            #expect(report.wouldSucceed, "\(String(describing: report.failure))")
            #expect(report.fromVersion == 2 && report.toVersion == 4 && report.pending.map(\.version) == [3, 4])
            #expect(report.copiedTables.first { $0.name == "vms" }?.rows == 50)
            #expect(try await PostgresBackupFixture.content(database) == content)
            #expect(try await PostgresBackupFixture.schema(database) == schema)
            #expect(try await exists(report.scratchDatabase, database) == false)

            let real = try await migrator.migrate(database.location)
            #expect(real.map(\.version) == report.applied.map(\.version))
            #expect(real.map(\.checksum) == report.applied.map(\.checksum))
            #expect(real.map(\.verification) == report.applied.map(\.verification), "the same census, hashes, invariants and probes")
            #expect(!(String(decoding: try JSONEncoder().encode(report), as: UTF8.self)).contains(database.password))
        }
    }

    /// v1 with VMs that have no network, and no default network given: v2 refuses on the copy.
    /// The failure is the report's, named as the live database, never the scratch one.
    @Test func aMigrationFailingOnTheCopyIsReportedAndTheCopyDropped() async throws {
        try await ScratchDatabase.with { database in
            let migrator = PostgresBackupFixture.migrator
            _ = try await migrator.migrate(database.location, to: 1)
            try await database.execute("INSERT INTO vms (vm_id, name, created_at, updated_at) VALUES ('005o', 'a', 'x', 'x')")
            let history = try await migrator.history(database.location)

            let report = try await migrator.dryRun(database.location)
            let failure = try #require(report.failure)
            #expect(failure.error?.code == .missingParameter && failure.kind == .usage, "\(failure.message)")
            #expect(report.applied.isEmpty && report.fromVersion == 1)
            #expect(try await exists(report.scratchDatabase, database) == false)
            #expect(!failure.message.contains(report.scratchDatabase) && !failure.message.contains(database.password))
            #expect(try await migrator.history(database.location).map(\.version) == history.map(\.version))
        }
    }

    /// A killed dry run's scratch database (an hour old, nobody connected) is dropped by the next dry
    /// run; one made a moment ago is not, though nobody is connected to it yet: its dry run is
    /// between CREATE DATABASE and its first connection.
    @Test func aScratchDatabaseLeftByAKilledDryRunIsDropped() async throws {
        try await ScratchDatabase.with { database in
            try await PostgresBackupFixture.atVersion2(database)
            let suffix = UInt32.random(in: 0...UInt32.max)
            let serverTime = { Int(try await database.strings("SELECT extract(epoch FROM clock_timestamp())::bigint::text").first ?? "") }
            let before = try #require(try await serverTime())
            let leftover = "vmdb_dry_run_\(before - 3600)_dead\(suffix)"
            try await database.execute("CREATE DATABASE \(leftover)")
            // Stamped when it is made, as a dry run stamps its own: under a loaded CI run the two CREATEs
            // and the dry run's start once took longer than the grace, and the test's 'fresh' was stale.
            let made = try #require(try await serverTime())
            let fresh = "vmdb_dry_run_\(made)_starting\(suffix)"
            try await database.execute("CREATE DATABASE \(fresh)")
            let report = try await PostgresBackupFixture.migrator.dryRun(database.location)
            let cleanedAt = try #require(try await serverTime())
            let freshKept = try await exists(fresh, database) || cleanedAt - made >= 60   // ScratchDatabases.graceSeconds: past it, dropping it is right
            try await database.execute("DROP DATABASE IF EXISTS \(fresh)")
            #expect(report.wouldSucceed)
            #expect(try await exists(leftover, database) == false)
            #expect(freshKept)
        }
    }

    private func exists(_ name: String, _ database: ScratchDatabase) async throws -> Bool {
        try await database.strings("SELECT datname::text FROM pg_database").contains(name)
    }
}
