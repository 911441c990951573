import Foundation
import PostgresTestSupport
import Testing
import VMDBCommands
import VMDBTestSupport

/// The commands on PostgreSQL (issue 24): `--db postgres://…` or `VMDB_DB`, each on a database of the
/// test's own on the real server. What a script sees: exit codes, text and JSON, and never the password.
@Suite struct PostgresCommandsTests {
    func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    @Test func statusMigrateAndVerifyWorkOnAURL() async throws {
        try await PostgresScratchDatabase.with { database in
            let empty = await run(["status", "--db", database.url, "--check"])
            #expect(empty.code == 3, "\(empty.err)")
            #expect(empty.out.contains("(PostgreSQL)") && empty.out.contains("schema version: 0") && empty.out.contains("4 provision_intents"))

            let plan = await run(["plan", "--db", database.url, "--to", "2"])
            #expect(plan.code == 0, "\(plan.err)")
            #expect(plan.out.contains("CREATE TABLE vms") && plan.out.contains("migration 2 (network_column)") && !plan.out.contains("migration 3"))

            let migrated = await run(["migrate", "--db", database.url, "--no-backup", "--format", "json"])
            #expect(migrated.code == 0, "\(migrated.err)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(migrated.out.utf8)) as? [String: Any])
            #expect(report["engine"] as? String == "postgresql")
            #expect(report["fromVersion"] as? Int == 0 && report["toVersion"] as? Int == 4)
            #expect((report["migrations"] as? [Any])?.count == 4)

            #expect(await run(["status", "--db", database.url, "--check"]).code == 0)
            let verified = await run(["verify", "--db", database.url])
            #expect(verified.code == 0, "\(verified.out)\(verified.err)")
            #expect(verified.out.contains("schema: matches a fresh install at version 4"))
            #expect(try await database.strings("SELECT count(*)::text FROM vmdb_migrations") == ["4"])
        }
    }

    @Test func verifyTellsDriftFromAnOperatorsAdditions() async throws {
        try await PostgresScratchDatabase.with { database in
            #expect(await run(["migrate", "--db", database.url, "--no-backup"]).code == 0)
            try await database.execute("ALTER TABLE vms ADD COLUMN note text;\nCREATE VIEW running AS SELECT network, vm_id FROM vms WHERE status = 'running'")
            let additions = await run(["verify", "--db", database.url, "--format", "json"])
            #expect(additions.code == 0, "\(additions.out)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(additions.out.utf8)) as? [String: Any])
            #expect(report["additions"] as? [String] == ["column vms.note", "view running"])

            // An index dropped, a constraint added NOT VALID (as an interrupted online run leaves it): drift, exit 3.
            try await database.execute("DROP INDEX vm_events_vm;\nALTER TABLE vms ADD CONSTRAINT name_set CHECK (name <> '') NOT VALID")
            let drift = await run(["verify", "--db", database.url])
            #expect(drift.code == 3)
            #expect(drift.out.contains("index vm_events_vm is missing"))
            #expect(drift.out.contains("constraint name_set on vms: CHECK ((name <> ''::text)) NOT VALID"))
            // verify builds its reference in a schema it rolls back: nothing of it is left.
            #expect(try await database.strings("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'vmdb%'").isEmpty)
        }
    }

    /// An operator's change in the migration's way is the input to fix (65), never a bug (1): the
    /// version's transaction rolls back whole.
    @Test func aMigrationThatMeetsAnOperatorsChangeRollsBackWithExit65() async throws {
        try await PostgresScratchDatabase.with { database in
            #expect(await run(["migrate", "--db", database.url, "--no-backup", "--to", "2"]).code == 0)
            try await database.execute("DROP INDEX vm_events_vm")
            let result = await run(["migrate", "--db", database.url, "--no-backup", "--default-network", "main"])
            #expect(result.code == 65, "\(result.err)")
            #expect(result.err.contains("schemaConflict") || result.err.contains("does not fit the schema"))
            #expect(result.err.contains("vm_events_vm"))
            #expect(try await database.strings("SELECT max(version)::text FROM vmdb_migrations") == ["2"])
            #expect(try await database.strings("SELECT attname::text FROM pg_attribute WHERE attrelid = 'vms'::regclass AND attname = 'origin'").isEmpty)
        }
    }

    @Test func theCommandsThatWorkOnSQLiteOnlyRefuseAURLByName() async throws {
        let url = "postgres://someone:s3cret-pw@127.0.0.1:1/deployer"
        for command in [["snapshots", "capture", "--out", "x"]] {
            let result = await run(command + ["--db", url])
            #expect(result.code == 64, "\(command): \(result.err)")
            #expect(result.err.contains("PostgreSQL"), "\(command): \(result.err)")
            #expect(!result.err.contains("s3cret-pw") && !result.out.contains("s3cret-pw"), "\(command)")
        }
    }

    /// The password of a URL is in no output, no JSON, no error and no history row, whatever the command
    /// and however it ends: a run that works, a wrong password (65), a server not there (69), a bad URL (64).
    @Test func thePasswordIsNeverShown() async throws {
        try await PostgresScratchDatabase.with { database in
            let password = database.password
            #expect(password.count >= 6)
            var outputs: [(String, Int32, String)] = []
            let directory = try TemporaryDirectory()
            let inventory = directory.file("main.json")
            try Data(#"{"network": "main", "vms": [{"vm_id": "005o", "name": "web", "status": "running"}]}"#.utf8).write(to: URL(fileURLWithPath: inventory))
            for format in ["text", "json"] {
                let backup = directory.file("manual-\(format).pgdump")
                let commands: [[String]] = [
                    ["status"], ["plan"], ["migrate", "--dry-run"], ["migrate", "--backup-dir", directory.path, "--to", "2"], ["verify"],
                    ["migrate", "--online", "--backup-dir", directory.path, "--to", "3"], ["migrate", "--no-backup"], ["status", "--check"],
                    ["backup", "--to", backup], ["restore", "--from", backup, "--backup-dir", directory.path], ["vm", "list"],
                    ["repair", "--inventory", inventory, "--apply", "--backup-dir", directory.path],
                ]
                for command in commands {
                    let result = await run(command + ["--db", database.url, "--format", format])
                    outputs.append(("\(command) \(format)", result.code, result.out + result.err))
                }
                if format == "text" {   // again from an empty database
                    try await database.execute("DROP SCHEMA public CASCADE;\nCREATE SCHEMA public")
                }
            }
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: directory.file(file))), as: UTF8.self)
                outputs.append(("file \(file)", 0, text))
            }
            #expect(outputs.allSatisfy { $0.1 == 0 }, "\(outputs.filter { $0.1 != 0 })")
            let wrong = database.url.replacingOccurrences(of: ":" + password + "@", with: ":not-\(password)@")
            let refused = await run(["status", "--db", wrong])
            #expect(refused.code == 65, "\(refused.err)")
            #expect(refused.err.contains("refused the login"))
            outputs.append(("wrong password", refused.code, refused.out + refused.err))
            let nowhere = await run(["status", "--db", "postgres://vmdb_test:\(password)@127.0.0.1:1/none?connect_timeout=2"])
            #expect(nowhere.code == 69, "\(nowhere.err)")
            outputs.append(("unreachable", nowhere.code, nowhere.out + nowhere.err))
            let malformed = await run(["status", "--db", "postgres://vmdb_test:\(password)@127.0.0.1:99999/x"])
            #expect(malformed.code == 64, "\(malformed.err)")
            outputs.append(("malformed", malformed.code, malformed.out + malformed.err))
            for (name, _, text) in outputs {
                #expect(!text.contains(password), "\(name) shows the password: \(text)")
                #expect(!text.contains(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password), "\(name)")
            }
            let history = try await database.strings("SELECT concat_ws(' ', name, checksum, applied_at, tool_version, verification) FROM vmdb_migrations")
            #expect(history.count == 4)
            #expect(history.allSatisfy { !$0.contains(password) })
        }
    }

    /// The store's commands on PostgreSQL: the same listing and the same ambiguity rule as on a file.
    @Test func vmCommandsWorkOnAURL() async throws {
        try await PostgresScratchDatabase.with { database in
            #expect(await run(["migrate", "--db", database.url, "--no-backup"]).code == 0)
            try await database.execute("""
                INSERT INTO vms (vm_id, name, network, status, created_at, updated_at) VALUES ('005o', 'web', 'main', 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
                INSERT INTO vms (vm_id, name, network, status, created_at, updated_at) VALUES ('005o', 'web-qa', 'qa', 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
                """)
            let listed = await run(["vm", "list", "--db", database.url])
            #expect(listed.code == 0, "\(listed.err)")
            #expect(listed.out.contains("main") && listed.out.contains("qa") && listed.out.contains("2 VMs"))
            let ambiguous = await run(["vm", "show", "005o", "--db", database.url])
            #expect(ambiguous.code == 64)
            #expect(ambiguous.err.contains("main") && ambiguous.err.contains("qa"))
            let deleted = await run(["vm", "delete", "qa/005o", "--db", database.url])
            #expect(deleted.code == 0, "\(deleted.err)")
            #expect(try await database.strings("SELECT network || '/' || vm_id FROM vms") == ["main/005o"])
        }
    }

    /// init makes the schema in an empty database, and refuses one that has it (64), changing nothing.
    @Test func initMakesTheSchemaInAnEmptyDatabaseOnly() async throws {
        try await PostgresScratchDatabase.with { database in
            let created = await run(["init", "--db", database.url, "--to", "3"])
            #expect(created.code == 0, "\(created.err)")
            #expect(created.out.contains("at schema version 3") && !created.out.contains(database.password))
            let again = await run(["init", "--db", database.url])
            #expect(again.code == 64)
            #expect(again.err.contains("already holds a vmdb schema (version 3)"))
            let versions = try await database.strings("SELECT max(version)::text FROM vmdb_migrations")
            #expect(versions == ["3"])
        }
    }

    /// repair on PostgreSQL: the same report, and --apply records the orphan (the backup asked for
    /// explicitly off here; with it, see the backup tests).
    @Test func repairFindsAndRecordsAnOrphanOnAURL() async throws {
        try await PostgresScratchDatabase.with { database in
            #expect(await run(["migrate", "--db", database.url, "--no-backup"]).code == 0)
            let directory = try TemporaryDirectory()
            let inventory = directory.file("main.json")
            try Data(#"{"network": "main", "vms": [{"vm_id": "005o", "name": "web", "status": "running"}]}"#.utf8)
                .write(to: URL(fileURLWithPath: inventory))
            let found = await run(["repair", "--db", database.url, "--inventory", inventory])
            #expect(found.code == 3, "\(found.err)")
            #expect(found.out.contains("orphans (a daemon runs them, the store lacks them): 1"))
            #expect(!found.out.contains(database.password) && !found.err.contains(database.password))
            let applied = await run(["repair", "--db", database.url, "--inventory", inventory, "--apply", "--no-backup"])
            #expect(applied.code == 0, "\(applied.err)")
            let recorded = try await database.strings("SELECT network || '/' || vm_id || ' ' || origin FROM vms")
            #expect(recorded == ["main/005o repair"])
            #expect(await run(["repair", "--db", database.url, "--inventory", inventory]).code == 0)
        }
    }

    /// `VMDB_DB` names the database as `--db` does, in a real `vmdb` process.
    @Test func vmdbDBTakesAURL() async throws {
        try await PostgresScratchDatabase.with { database in
            let result = try await offThePool { try VMDBProcess.run(["status", "--format", "json"], environment: ["VMDB_DB": database.url]) }
            #expect(result.exitCode == 0, "\(result.standardError)")
            #expect(result.standardOutput.contains("\"engine\" : \"postgresql\""))
            #expect(!result.standardOutput.contains(database.password) && !result.standardError.contains(database.password))
        }
    }
}
