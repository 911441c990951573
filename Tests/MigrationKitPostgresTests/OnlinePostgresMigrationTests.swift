import Foundation
import Logging
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import ShippedMigrations
import Testing
import VMDBTestSupport

/// v2 → v3 online on the real server (issue 24): with a v2 deployer writing at a 1 s lock and
/// statement timeout, no write fails and every acknowledged one is there; a run stopped at any
/// step, or one that left an INVALID index, is resumed by the next run, online or offline, and
/// ends verified with the schema the offline path makes.
@Suite struct OnlinePostgresMigrationTests {
    static var migrator: PostgresMigrator {
        PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: "test", configuration: ShippedMigrations.configuration)
    }

    /// A stand-in for a crash at a checkpoint.
    struct Interrupted: Error {
        var at: PostgresOnlineCheckpoint?
    }

    /// A v2 database with `count` VMs over two networks and one event each.
    static func atVersion2(_ database: ScratchDatabase, vms count: Int) async throws {
        _ = try await migrator.migrate(database.location, to: 2, parameters: ["default_network": "main"])
        try await database.execute("""
            INSERT INTO vms (vm_id, network, name, status, created_at, updated_at)
                SELECT 'vm' || g, CASE WHEN g % 2 = 0 THEN 'main' ELSE 'qa' END, 'vm ' || g, 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
                FROM generate_series(1, \(count)) AS g;
            INSERT INTO vm_events (vm_id, kind, at) SELECT 'vm' || g, 'created', '2026-01-01T00:00:00Z' FROM generate_series(1, \(count)) AS g
            """)
    }

    @Test(.timeLimit(.minutes(30))) func v2ToV3OnlineWithTheDeployerWriting() async throws {
        let heavy = ProcessInfo.processInfo.environment["VMDB_HEAVY"] == "1"
        let count = heavy ? 1_000_000 : 100_000
        try await ScratchDatabase.with { database in
            try await Self.atVersion2(database, vms: count)
            let directory = try TemporaryDirectory("pg-online")
            let deployer = try PostgresStandInDeployer(url: database.url, existingRows: count, in: directory)
            deployer.waitForAcknowledged(50)
            // The real vmdb, a process of its own as in production: in this test process vmdb's continuations
            // would queue behind the other suites' CPU-bound work while it holds a lock (seen: 2 s under a full run).
            // Counts: a content hash of 100k rows takes seconds in a debug build, and online it is recorded, not compared.
            let output = directory.file("migrate.json")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let started = Date()
            let process = try VMDBProcess.start(["migrate", "--db", database.url, "--online", "--no-backup", "--verify", "counts", "--format", "json"],
                                                standardOutput: try FileHandle(forWritingTo: URL(fileURLWithPath: output)))
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            let seconds = Date().timeIntervalSince(started)
            let before = deployer.acknowledged.count
            deployer.waitForAcknowledged(before + 50)
            let acknowledged = deployer.stop()
            let json = try String(contentsOfFile: output, encoding: .utf8)
            #expect(process.terminationStatus == 0, "\(json)")
            #expect(deployer.errors.isEmpty, "the deployer's writes failed: \(deployer.errors.prefix(5))")
            let report = try JSONDecoder().decode(MigrateJSON.self, from: Data(json.utf8)).online
            let migration = try #require(report.migrations.first)
            #expect(report.migrations.map(\.applied.version) == [3, 4] && migration.online && !migration.resumed)
            #expect(report.migrations.allSatisfy { $0.applied.verification?.passed == true })
            print("""
                online v2 -> v3 on PostgreSQL, \(count) VMs and events: \(String(format: "%.1f", seconds)) s; longest strong lock \
                \(String(format: "%.1f", report.longestLockMilliseconds)) ms (\(migration.longestLockStep ?? "-")), \(report.retries) retries; \
                deployer: \(acknowledged.count) writes acknowledged, 0 failed, slowest \(deployer.slowestMilliseconds.map { String(format: "%.1f", $0) } ?? "?") ms
                """)
            for step in migration.steps {
                print("  step \(step.step) (\(step.kind) \(step.object)): \(String(format: "%.1f", step.milliseconds)) ms, lock \(String(format: "%.1f", step.longestLockMilliseconds)) ms, longest other transaction \(String(format: "%.1f", step.longestTransactionMilliseconds)) ms, \(step.retries) retries, \(step.batches) batches, \(step.rows) rows")
            }
            try await Self.expectPresent(acknowledged, in: database)
            #expect(acknowledged.contains { $0.hasPrefix("i ") } && acknowledged.contains { $0.hasPrefix("e ") } && acknowledged.contains { $0.hasPrefix("u ") })
        }
    }

    /// `vmdb migrate --online --format json` on PostgreSQL, the parts read here.
    struct MigrateJSON: Decodable {
        struct Online: Decodable {
            let migrations: [Migration]
            let longestLockMilliseconds: Double
            let retries: Int
        }
        struct Migration: Decodable {
            let applied: AppliedMigration
            let online: Bool
            let resumed: Bool
            let longestLockStep: String?
            let steps: [Step]
        }
        struct Step: Decodable {
            let step: Int
            let kind: String
            let object: String
            let milliseconds: Double
            let longestLockMilliseconds: Double
            let longestTransactionMilliseconds: Double
            let retries: Int
            let batches: Int
            let rows: Int
        }
        let online: Online
    }

    /// Every write the deployer saw acknowledged is in the database, events with their VM's network.
    static func expectPresent(_ acknowledged: [String], in database: ScratchDatabase) async throws {
        let missing = PostgresStandInDeployer.missing(acknowledged, insertedVMs: try await database.strings(PostgresStandInDeployer.insertedVMsQuery),
                                                      addedEvents: try await database.strings(PostgresStandInDeployer.addedEventsQuery),
                                                      statuses: try await database.strings(PostgresStandInDeployer.statusesQuery))
        #expect(missing.isEmpty, "acknowledged writes not in the database: \(missing.prefix(5))")
        let matched = try await database.strings("SELECT count(*)::text FROM vm_events AS e JOIN vms AS v ON v.vm_id = e.vm_id AND v.network = e.network")
        #expect(try await database.strings("SELECT count(*)::text FROM vm_events") == matched, "every event carries its VM's network")
    }

    /// Each run stops at its first checkpoint (every step's commit, every batch, every constraint
    /// added before its validation), with a v2 write between runs: the next run resumes after it,
    /// and the last one ends verified, at the offline path's schema.
    @Test func aRunStoppedAtEachStepIsResumedByTheNext() async throws {
        try await ScratchDatabase.with { database in
            try await Self.atVersion2(database, vms: 12_000)
            var stopping = PostgresOnlineSettings()
            stopping.checkpoint = { point in throw Interrupted(at: point) }
            let settings = stopping
            var runs = 0
            var report: PostgresOnlineReport?
            while report == nil, runs < 100 {
                runs += 1
                do {
                    report = try await Self.migrator.migrateOnline(database.location, to: 3, settings: settings)
                } catch let stop as Interrupted where stop.at?.kind != "backfill" {
                    // (Not while a backfill is under way: each run would have one more key to fill.)
                    try await database.execute("""
                        INSERT INTO vms (vm_id, network, name, created_at, updated_at) VALUES ('r\(runs)', 'qa', 'r', 'x', 'x');
                        INSERT INTO vm_events (vm_id, kind, at) VALUES ('r\(runs)', 'created', 'x')
                        """)
                    #expect(try await Self.migrator.history(database.location).map(\.version) == [1, 2], "not recorded before its end")
                } catch is Interrupted {}
            }
            let migration = try #require(report?.migrations.first)
            // 14 steps, 4 constraints added before their validation, 3 batches of each backfill, then the run that ends.
            #expect(runs == 14 + 4 + 3 + 3 + 1, "one checkpoint per run: \(runs) runs")
            #expect(migration.resumed && migration.steps.filter(\.alreadyDone).count == 14)
            #expect(migration.applied.verification?.passed == true && migration.applied.verification?.online?.resumes == 1)
            #expect(try await Self.migrator.history(database.location).map(\.version) == [1, 2, 3])
            #expect(try await database.strings("SELECT count(*)::text FROM vmdb_migrations_online") == ["0"], "the steps are history once recorded")
            #expect(try await database.strings("SELECT count(*)::text FROM vm_events WHERE network IS NULL") == ["0"])
            try await Self.expectSchemaOfOfflinePath(database)
        }
    }

    /// An interrupted online run finished by the offline `migrate`: it cannot undo the steps in one
    /// transaction, so it resumes them.
    @Test func anOfflineRunFinishesAnInterruptedOnlineOne() async throws {
        try await ScratchDatabase.with { database in
            try await Self.atVersion2(database, vms: 12_000)
            var stopping = PostgresOnlineSettings()
            stopping.checkpoint = { point in if point.step == 8, point.phase == "batch" { throw Interrupted() } }
            let settings = stopping
            await #expect(throws: Interrupted.self) { _ = try await Self.migrator.migrateOnline(database.location, settings: settings) }
            #expect(try await database.strings("SELECT count(*)::text FROM vm_events WHERE network IS NULL") != ["0"], "a half-done backfill")
            let recorded = try await Self.migrator.migrate(database.location)
            #expect(recorded.map(\.version) == [3, 4] && recorded.allSatisfy { $0.verification?.passed == true })
            #expect(recorded.first?.verification?.online?.resumes == 1, "finished the online way")
            try await Self.expectSchemaOfOfflinePath(database, through: 4)
        }
    }

    /// An INVALID index an interrupted `CREATE INDEX CONCURRENTLY` left (here one that failed on a
    /// row) is dropped and built again, by an online run and by an offline one.
    @Test(arguments: [true, false]) func anInvalidIndexLeftBehindIsRebuilt(online: Bool) async throws {
        try await ScratchDatabase.with { database in
            try await Self.atVersion2(database, vms: 3_000)
            await #expect(throws: (any Error).self) {
                try await database.execute("CREATE UNIQUE INDEX CONCURRENTLY vms_identity ON vms (network, (1 / (id - 2)))")
            }
            #expect(try await database.strings("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'vms_identity'::regclass") == ["false"])
            if online {
                let report = try await Self.migrator.migrateOnline(database.location, to: 3)
                #expect(report.migrations.first?.steps.first { $0.object == "vms_identity" }?.droppedInvalidIndex == true)
                #expect(report.migrations.first?.resumed == true)
            } else {
                #expect(try await Self.migrator.migrate(database.location, to: 3).first?.verification?.online?.resumes == 1)
            }
            #expect(try await database.strings("SELECT indisvalid::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indexrelid = 'vms_identity'::regclass")
                    == ["true CREATE UNIQUE INDEX vms_identity ON public.vms USING btree (network, vm_id)"])
            try await Self.expectSchemaOfOfflinePath(database)
        }
    }

    /// A deployer transaction holding a lock past vmdb's timeout: vmdb gives way and tries again
    /// (retries counted); past its tries it stops busy, saying the next run resumes, which it does.
    @Test func aLockHeldByTheDeployerIsWaitedOutOrGivenUpOn() async throws {
        try await ScratchDatabase.with { database in
            try await Self.atVersion2(database, vms: 1_000)
            var settings = PostgresOnlineSettings()
            settings.attempts = 3
            settings.lockTimeoutMilliseconds = 50
            let impatient = settings
            let error = try await database.withConnection { holder in
                _ = try await holder.query("BEGIN", logger: Self.logger)
                _ = try await holder.query("LOCK TABLE vm_events IN ROW EXCLUSIVE MODE", logger: Self.logger)
                let error = await #expect(throws: MigrationError.self) {
                    _ = try await Self.migrator.migrateOnline(database.location, to: 3, settings: impatient)
                }
                _ = try await holder.query("ROLLBACK", logger: Self.logger)
                return error
            }
            #expect(error?.code == .locked && error?.message.contains("resumes there") == true, "\(String(describing: error))")
            #expect(error?.message.contains("vmdb-test-pw") == false)
            #expect(try await Self.migrator.history(database.location).map(\.version) == [1, 2])
            // Held past vmdb's lock_timeout, then released: the default settings wait it out.
            let report = try await database.withConnection { holder in
                _ = try await holder.query("BEGIN", logger: Self.logger)
                _ = try await holder.query("LOCK TABLE vms IN ROW EXCLUSIVE MODE", logger: Self.logger)
                async let migrated = Self.migrator.migrateOnline(database.location, to: 3)
                // Until vmdb waits on the lock, then past its 200 ms lock_timeout: at least one try given up.
                let deadline = Date().addingTimeInterval(60)
                while try await database.strings("SELECT count(*)::text FROM pg_locks WHERE NOT granted AND relation = 'vms'::regclass") == ["0"], Date() < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await Task.sleep(for: .milliseconds(600))
                _ = try await holder.query("COMMIT", logger: Self.logger)
                return try await migrated
            }
            #expect(report.retries > 0)
            #expect(report.migrations.first?.applied.verification?.passed == true)
        }
    }

    /// VALIDATE CONSTRAINT takes only SHARE UPDATE EXCLUSIVE, the lock an autovacuum holds: it waits
    /// for it, past the strong steps' 200 ms, rather than give up and retry. (PostgreSQL cancels an
    /// autovacuum for a waiting request only after deadlock_timeout, 1 s: a shorter try gives up
    /// every time, and 40 of them may not outlast a long vacuum.)
    @Test func aValidateWaitsOutAnAutovacuumsLockWithoutRetrying() async throws {
        try await ScratchDatabase.with { database in
            try await Self.atVersion2(database, vms: 100)
            var settings = PostgresOnlineSettings()
            settings.checkpoint = { point in
                guard point.phase == "added" else { return }
                // Another session takes what a vacuum of both tables takes, and keeps it 800 ms.
                let holder = Task {
                    try await database.withConnection { holder in
                        _ = try await holder.query("BEGIN", logger: Self.logger)
                        _ = try await holder.query("LOCK TABLE vms, vm_events IN SHARE UPDATE EXCLUSIVE MODE", logger: Self.logger)
                        try await Task.sleep(for: .milliseconds(800))
                        _ = try await holder.query("COMMIT", logger: Self.logger)
                    }
                }
                let deadline = Date().addingTimeInterval(30)
                while try await database.strings("SELECT count(*)::text FROM pg_locks WHERE granted AND mode = 'ShareUpdateExclusiveLock' AND relation = 'vm_events'::regclass") == ["0"], Date() < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                _ = holder
            }
            let report = try await Self.migrator.migrateOnline(database.location, to: 3, settings: settings)
            #expect(report.retries == 0, "\(report.migrations.flatMap(\.steps).filter { $0.retries > 0 })")
            #expect(report.migrations.first?.applied.verification?.passed == true)
        }
    }

    /// The offline path, and each online one, end at one schema: compared with a database the
    /// offline path migrates from the same v2.
    static func expectSchemaOfOfflinePath(_ database: ScratchDatabase, through version: Int = 3) async throws {
        try await ScratchDatabase.with { offline in
            try await atVersion2(offline, vms: 10)
            _ = try await migrator.migrate(offline.location, to: version)
            #expect(try await schema(database) == (try await schema(offline)))
        }
    }

    static func schema(_ database: ScratchDatabase) async throws -> [String] {
        try await database.strings("""
            SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
                FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'vmdb_%'
            UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE 'vmdb_%'
            UNION ALL SELECT 'index ' || pg_get_indexdef(indexrelid) || ' ' || indisvalid FROM pg_index JOIN pg_class c ON c.oid = indexrelid
                WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE 'vmdb_%'
            UNION ALL SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
            ORDER BY 1
            """)
    }

    static let logger = Logger(label: "test")
}
