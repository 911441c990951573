import Foundation
import Testing
import VMDBTestSupport

/// `vmdb migrate --online --db postgres://…` SIGKILLed at random points of v2 → v3 (and v4)
/// while a v2 deployer (``PostgresStandInDeployer``: psycopg2, 1 s lock and statement timeouts)
/// writes, then run again until it finishes (issue 24). After the last run: the deployer saw
/// no error, every write it was told succeeded is there, the history records every version,
/// no step progress is left, and no index or constraint is left invalid.
///
/// A kill leaves what the step it landed in left: nothing (a transaction rolled back by the
/// server when the connection dropped), or an INVALID index (`CREATE INDEX CONCURRENTLY`), or a
/// backend still finishing its statement and holding the advisory lock, so the next run exits
/// busy (75) until it is gone. The seed is printed; `VMDB_HEAVY=1` kills more often on more rows.
@Suite(.serialized, .tags(.slow)) struct PostgresOnlineKillTests {
    @Test func killedAtRandomPointsTheRerunFinishesAndNothingIsLost() throws {
        let heavy = Reliability.isHeavy
        let rows = heavy ? 100_000 : 20_000
        let kills = heavy ? 40 : 8
        let seed = UInt64(ProcessInfo.processInfo.environment["VMDB_KILL_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var random = SeededRandom(seed: seed)
        print("PostgreSQL kill sweep: seed \(seed) (VMDB_KILL_SEED), \(rows) VMs, \(kills) kills")
        let database = try Psql.scratchDatabase()
        defer { database.drop() }
        let migrateTo2 = try VMDBProcess.run(["migrate", "--db", database.url, "--to", "2", "--default-network", "main", "--no-backup"])
        #expect(migrateTo2.exitCode == 0, "\(migrateTo2.standardError)")
        try Psql.run(database.url, """
            INSERT INTO vms (vm_id, network, name, status, created_at, updated_at)
                SELECT 'vm' || g, CASE WHEN g % 2 = 0 THEN 'main' ELSE 'qa' END, 'vm ' || g, 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
                FROM generate_series(1, \(rows)) AS g;
            INSERT INTO vm_events (vm_id, kind, at) SELECT 'vm' || g, 'created', '2026-01-01T00:00:00Z' FROM generate_series(1, \(rows)) AS g;
            """)
        let directory = try TemporaryDirectory("pg-kill")
        let deployer = try PostgresStandInDeployer(url: database.url, existingRows: rows, in: directory)
        deployer.waitForAcknowledged(20)

        let migrate = ["migrate", "--db", database.url, "--online", "--no-backup", "--format", "json"]
        var outcomes: [String] = []
        var finished = false
        for round in 0..<kills where !finished {
            // Most kills soon after the start, so the resumed runs walk through the steps; the last ones later,
            // into the verification (a content hash at the full level).
            let delay = Double.random(in: 0..<(round < kills * 3 / 4 ? (heavy ? 1.5 : 0.5) : (heavy ? 8 : 3)), using: &random)
            let process = try VMDBProcess.start(migrate)
            let deadline = Date().addingTimeInterval(delay)
            while process.isRunning, Date() < deadline { usleep(2_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                // Where it landed: the steps recorded done, and one under way (a constraint added, a backfill's last key).
                let progress = (try? Psql.lines(database.url, """
                    SELECT coalesce(string_agg(step || CASE WHEN phase = 'done' THEN '' ELSE ' ' || phase || coalesce(' ' || key_done, '') END, ',' ORDER BY step), 'none')
                    FROM vmdb_migrations_online
                    """))?.first ?? "no progress table"
                outcomes.append(String(format: "killed at %.2f s (steps: %@)", delay, progress))
            } else {
                outcomes.append("exit \(process.terminationStatus) before \(String(format: "%.2f", delay)) s")
                #expect([0, 75].contains(process.terminationStatus), "a run between kills: \(outcomes)")
                finished = process.terminationStatus == 0
            }
        }
        // The reruns: busy (75) while a killed run's backend still holds the lock.
        var reruns = 0
        while !finished, reruns < 60 {
            reruns += 1
            let result = try VMDBProcess.run(migrate)
            if result.exitCode == 75 { usleep(500_000); continue }
            #expect(result.exitCode == 0, "the rerun: \(result.standardError)")
            finished = true
        }
        print("PostgreSQL kill sweep: \(outcomes.joined(separator: "; ")); \(reruns) rerun(s)")
        #expect(finished, "no rerun finished: \(outcomes)")
        let before = deployer.acknowledged.count
        deployer.waitForAcknowledged(before + 20)
        let acknowledged = deployer.stop()
        #expect(deployer.errors.isEmpty, "the deployer's writes failed: \(deployer.errors.prefix(5))")

        #expect(try Psql.lines(database.url, "SELECT version FROM vmdb_migrations ORDER BY version") == ["1", "2", "3", "4"])
        #expect(try Psql.lines(database.url, "SELECT count(*) FROM vmdb_migrations_online") == ["0"], "no step progress left")
        #expect(try Psql.lines(database.url, """
            SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid
            UNION ALL SELECT conname FROM pg_constraint WHERE NOT convalidated
            """) == [], "an index or a constraint left invalid")
        let missing = PostgresStandInDeployer.missing(acknowledged, insertedVMs: try Psql.lines(database.url, PostgresStandInDeployer.insertedVMsQuery),
                                                      addedEvents: try Psql.lines(database.url, PostgresStandInDeployer.addedEventsQuery),
                                                      statuses: try Psql.lines(database.url, PostgresStandInDeployer.statusesQuery))
        #expect(missing.isEmpty, "acknowledged writes not in the database: \(missing.prefix(5))")
        #expect(try Psql.lines(database.url, "SELECT count(*) FROM vm_events WHERE network IS NULL") == ["0"])
    }
}

/// The server through Debian's `psql`, for what is not vmdb's to do (a database of its own, the rows, the checks).
enum Psql {
    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    struct Database {
        let url: String
        let name: String
        let server: String

        func drop() { _ = try? Psql.lines(server, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    /// A new empty database on the test server.
    static func scratchDatabase() throws -> Database {
        let server = try PostgresTestServer.url()
        let name = "vmdb_kill_\(UInt32.random(in: 0...UInt32.max))"
        _ = try lines(server, "CREATE DATABASE \(name)")
        let query = server.firstIndex(of: "?") ?? server.endIndex
        let slash = server[..<query].lastIndex(of: "/") ?? query
        return Database(url: server[..<slash] + "/" + name + server[query...], name: name, server: server)
    }

    static func run(_ url: String, _ sql: String) throws { _ = try lines(url, sql) }

    /// The rows `sql` returns, one line each (unaligned, tuples only).
    static func lines(_ url: String, _ sql: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["--no-psqlrc", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "psql: \(String(decoding: message, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
