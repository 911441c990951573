import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBCommands
import VMDBTestSupport

/// The migration commands as scripts and operators call them: exit codes,
/// standard output (text, JSON, markdown) and standard error.
@Suite struct MigrationCommandTests {
    func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func statusCheckExitsThreeWhilePendingAndZeroWhenCurrent() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let pending = await run(["status", "--db", path, "--check"])
        #expect(pending.code == 3)
        #expect(pending.out.contains("3 network_identity"))
        #expect(await run(["migrate", "--db", path, "--no-backup"]).code == 0)
        #expect(await run(["status", "--db", path, "--check"]).code == 0)
    }

    @Test func aMissingPathIsExit65AndNoFileIsCreated() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("typo.db")
        for command in [["status"], ["migrate"], ["plan"], ["verify"], ["migrate", "--dry-run"]] {
            let result = await run(command + ["--db", path])
            #expect(result.code == 65, "\(command)")
            #expect(result.err.contains("no database at \(path)"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func errorsAreOneJSONDocumentInJSONMode() async throws {
        let directory = try TemporaryDirectory()
        let result = await run(["status", "--db", directory.file("nope.db"), "--format", "json"])
        #expect(result.code == 65)
        let error = try #require(try json(result.out)["error"] as? [String: Any])
        #expect(error["code"] as? Int == 65)
        #expect((error["message"] as? String)?.contains("nope.db") == true)
        #expect(result.err.isEmpty)
    }

    @Test func aMissingDatabaseOptionIsAUsageError() async {
        let result = await run(["status"])
        #expect(result.code == 64)
        #expect(result.err.contains("--db"))
    }

    // C1 controls (U+0080–U+009F) too: the store refuses them, so a migration that
    // stored one would leave VMs no lookup by pair can reach.
    @Test(arguments: ["", "ma in", "qa\u{7}", "main/qa", "qa\u{81}", "qa\u{9f}", "qa\u{85}", String(repeating: "n", count: 65)])
    func badDefaultNetworksAreRefused(_ network: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        let before = try Fixtures.fileHash(path)
        let result = await run(["migrate", "--db", path, "--default-network", network])
        #expect(result.code == 64)
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aV1DatabaseWithoutANetworkIsRefusedWithTheCount() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        let result = await run(["migrate", "--db", path])
        #expect(result.code == 64)
        #expect(result.err.contains("8 VM(s) have no network yet") && result.err.contains("--default-network"))
        let migrated = await run(["migrate", "--db", path, "--default-network", "qa", "--format", "json"])
        #expect(migrated.code == 0)
        #expect(try json(migrated.out)["toVersion"] as? Int == FutureMigrations.latestShipped)
    }

    @Test func dryRunReportsInEveryFormat() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([("main", "005o"), ("qa", "0069")], into: path)
        let text = await run(["migrate", "--dry-run", "--db", path])
        #expect(text.code == 0)
        #expect(text.out.contains("would succeed") && text.out.contains("VMs per network"))
        let markdown = await run(["migrate", "--dry-run", "--db", path, "--format", "markdown"])
        #expect(markdown.out.contains("## vmdb dry run") && markdown.out.contains("```sql"))
        let document = try await json(run(["migrate", "--dry-run", "--db", path, "--format", "json"]).out)
        #expect(document["plan"] != nil && document["run"] != nil)
        #expect(await run(["status", "--db", path]).out.contains("schema version: 2"))
    }

    @Test func planPrintsTheTransactionAndBookkeeping() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let result = await run(["plan", "--db", path])
        #expect(result.code == 0)
        #expect(result.out.contains("BEGIN IMMEDIATE;") && result.out.contains("INSERT INTO vmdb_migrations") && result.out.contains("COMMIT;"))
    }

    @Test func verifyExitsThreeOnDrift() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        #expect(await run(["verify", "--db", path]).code == 0)
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "DROP INDEX vms_status") }
        let result = await run(["verify", "--db", path])
        #expect(result.code == 3)
        #expect(result.out.contains("vms_status"))
    }

    @Test func newerAndTamperedDatabasesGiveFourAndFive() async throws {
        let directory = try TemporaryDirectory()
        let newer = try Fixtures.database(version: FutureMigrations.latestShipped, in: directory, name: "newer.db")
        try await DatabaseQueue(path: newer).write { db in
            try db.execute(sql: "INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind) VALUES (?, 'x', 'x', 'x', 0, 0, 'x', 'applied')",
                           arguments: [FutureMigrations.next])
        }
        #expect(await run(["migrate", "--db", newer]).code == 4)
        let tampered = try Fixtures.database(version: 2, in: directory, name: "tampered.db")
        try await DatabaseQueue(path: tampered).write { try $0.execute(sql: "UPDATE vmdb_migrations SET checksum = 'edited' WHERE version = 1") }
        let before = try Fixtures.fileHash(tampered)
        #expect(await run(["migrate", "--db", tampered]).code == 5)
        #expect(try Fixtures.fileHash(tampered) == before)
    }

    @Test func backupAndRestoreRoundTrip() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let backup = directory.file("before.backup")
        #expect(await run(["backup", "--db", path, "--to", backup]).code == 0)
        #expect(await run(["backup", "--db", path, "--to", backup]).code == 64, "a backup must never overwrite a file")
        #expect(await run(["migrate", "--db", path, "--no-backup"]).code == 0)
        #expect(await run(["restore", "--db", path, "--from", backup, "--no-backup"]).code == 0)
        #expect(await run(["status", "--db", path]).out.contains("schema version: 2"))
    }

    // MARK: The built binary

    @Test func theBinaryHonoursVMDBDatabaseAndExitCodes() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let result = try VMDBProcess.run(["status", "--check"], environment: ["VMDB_DB": path])
        #expect(result.exitCode == 3)
        #expect(result.standardOutput.contains("pending"))
        let missing = try VMDBProcess.run(["migrate", "--db", directory.file("nope.db")])
        #expect(missing.exitCode == 65 && missing.standardOutput.isEmpty && missing.standardError.contains("nope.db"))
    }

    @Test func aSecondMigratorGetsSeventyFive() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let before = try Fixtures.fileHash(path)
        let lock = try MigratorLock(databasePath: path, suffix: ".vmdb-lock", purpose: "migrate")
        let result = try VMDBProcess.run(["migrate", "--db", path])
        #expect(result.exitCode == 75)
        #expect(result.standardError.contains("another migrator holds"))
        #expect(try Fixtures.fileHash(path) == before)
        withExtendedLifetime(lock) {}
    }

    @Test func theDemoRunsEndToEnd() throws {
        let result = try VMDBProcess.run(["demo"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("would succeed") && result.standardOutput.contains("verdict: ok"))
    }
}
