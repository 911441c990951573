import Foundation
import MigrationKit
import MigrationKitPostgres
import PostgresAccess
import PostgresNIO
import Testing
import VMDBTestSupport

/// Backup and restore on the real server with Debian's pg_dump, pg_restore and psql: a backup
/// from one snapshot with its record (version, rows, content hashes), mode 0600, never
/// overwritten; a restore checked before it touches anything and applied in one transaction,
/// so a bad backup or a failure midway leaves the database as it was; the password nowhere.
@Suite struct BackupRestoreTests {
    @Test func aBackupRestoredBringsBackTheContentItRecorded() async throws {
        try await ScratchDatabase.with { database in
            try await PostgresBackupFixture.atVersion2(database)
            let migrator = PostgresBackupFixture.migrator
            let folder = try TemporaryDirectory("pg-backup")
            let before = try await PostgresBackupFixture.content(database)
            let schemaBefore = try await PostgresBackupFixture.schema(database)

            let record = try await migrator.backup(database.location, to: folder.file("v2.pgdump"))
            #expect(record.schemaVersion == 2)
            #expect(record.tables.map(\.name) == ["vm_events", "vmdb_migrations", "vms"])
            #expect(record.tables.map(\.rows) == [50, 2, 50])
            #expect(record.tables.allSatisfy { $0.contentHash != nil })
            #expect(record.sha256 == (try sha256(folder.file("v2.pgdump"))))
            for path in [record.path, PostgresBackupRecord.recordPath(for: record.path)] {
                let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(path)")
            }

            // Later: v4, rows changed, a table v2 never had.
            _ = try await migrator.migrate(database.location)
            try await database.execute("DELETE FROM vms WHERE network = 'qa';\nUPDATE vms SET name = 'renamed'")
            let report = try await migrator.restore(database.location, from: record.path, safetyBackupDirectory: folder.path, takesSafetyBackup: true)
            #expect(report.restoredVersion == 2 && report.matchesRecord == true)
            #expect(try await PostgresBackupFixture.content(database) == before)
            #expect(try await PostgresBackupFixture.schema(database) == schemaBefore, "v4's tables and constraints are gone")
            let safety = try #require(report.safetyBackup)
            #expect(safety.schemaVersion == 4 && safety.tables.first { $0.name == "vms" }?.rows == 34)
            #expect(FileManager.default.fileExists(atPath: safety.path))

            let texts = [try json(record), try json(report), "\(record)", "\(report)"]
            #expect(texts.allSatisfy { !$0.contains(database.password) }, "the password is masked everywhere")
        }
    }

    @Test func anExistingFileIsNeverOverwritten() async throws {
        try await ScratchDatabase.with { database in
            try await PostgresBackupFixture.atVersion2(database)
            let folder = try TemporaryDirectory("pg-backup")
            try Data("keep me".utf8).write(to: URL(fileURLWithPath: folder.file("taken")))
            let error = await #expect(throws: MigrationError.self) {
                try await PostgresBackupFixture.migrator.backup(database.location, to: folder.file("taken"))
            }
            #expect(error?.code == .fileExists)
            #expect(try String(contentsOfFile: folder.file("taken"), encoding: .utf8) == "keep me")
            #expect(!FileManager.default.fileExists(atPath: PostgresBackupRecord.recordPath(for: folder.file("taken"))))
        }
    }

    @Test func withoutPgDumpTheErrorNamesTheDebianPackage() async throws {
        try await ScratchDatabase.with { database in
            let folder = try TemporaryDirectory("pg-backup")
            let error = await #expect(throws: MigrationError.self) {
                try await PostgresBackupFixture.migrator.backup(database.location, to: folder.file("b.pgdump"), toolFolder: folder.path)
            }
            #expect(error?.code == .unusableFile && error?.kind == .unusableInput)
            #expect(error?.message.contains("apt-get install postgresql-client-15") == true, "\(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: folder.file("b.pgdump")))
        }
    }

    /// A truncated backup (its record moved away, so pg_restore's own reading must catch it) and
    /// one whose bytes changed (its record catches it) are refused before anything is touched.
    @Test(arguments: [true, false])
    func aDamagedBackupIsRefusedAndTheDatabaseUntouched(keepsRecord: Bool) async throws {
        try await ScratchDatabase.with { database in
            try await PostgresBackupFixture.atVersion2(database)
            let migrator = PostgresBackupFixture.migrator
            let folder = try TemporaryDirectory("pg-backup")
            let record = try await migrator.backup(database.location, to: folder.file("b.pgdump"))
            if !keepsRecord { try FileManager.default.removeItem(atPath: PostgresBackupRecord.recordPath(for: record.path)) }
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: record.path))
            try handle.truncate(atOffset: UInt64(record.bytes - 200))
            try handle.close()
            try await database.execute("DELETE FROM vms WHERE network = 'qa'")
            let before = try await PostgresBackupFixture.content(database)

            let error = await #expect(throws: MigrationError.self) {
                try await migrator.restore(database.location, from: record.path, safetyBackupDirectory: folder.path, takesSafetyBackup: true)
            }
            #expect(error?.code == .unusableFile, "\(String(describing: error))")
            #expect(error?.message.contains(keepsRecord ? "sha256" : "cannot be read whole") == true, "\(String(describing: error))")
            #expect(error?.message.contains(database.password) == false)
            #expect(try await PostgresBackupFixture.content(database) == before)
            let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix("b.pgdump") }
            #expect(left.isEmpty, "no safety backup before the backup is checked: \(left)")
        }
    }

    /// psql's transaction fails midway (a deployer's transaction holds vms past the lock timeout,
    /// after other tables were dropped): all of it is rolled back.
    @Test func aRestoreThatFailsMidwayLeavesTheDatabaseAsItWas() async throws {
        try await ScratchDatabase.with { database in
            try await PostgresBackupFixture.atVersion2(database)
            let migrator = PostgresBackupFixture.migrator
            let folder = try TemporaryDirectory("pg-backup")
            let record = try await migrator.backup(database.location, to: folder.file("b.pgdump"))
            _ = try await migrator.migrate(database.location)
            try await database.execute("DELETE FROM vms WHERE network = 'qa'")
            let before = try await PostgresBackupFixture.content(database)
            let schemaBefore = try await PostgresBackupFixture.schema(database)

            let error = try await database.withConnection { holder in
                _ = try await holder.query("BEGIN", logger: Logger(label: "test")).collect()
                _ = try await holder.query("SELECT count(*) FROM vms", logger: Logger(label: "test")).collect()
                let error = await #expect(throws: MigrationError.self) {
                    try await migrator.restore(database.location, from: record.path, safetyBackupDirectory: folder.path, takesSafetyBackup: false)
                }
                _ = try await holder.query("ROLLBACK", logger: Logger(label: "test")).collect()
                return error
            }
            #expect(error?.code == .locked, "\(String(describing: error))")
            #expect(error?.message.contains(database.password) == false)
            #expect(try await PostgresBackupFixture.content(database) == before)
            #expect(try await PostgresBackupFixture.schema(database) == schemaBefore)
        }
    }

    /// The tools get the password in their environment, never on their command line (which `ps`
    /// shows every user): a pg_dump that writes down what it was given says so.
    @Test func thePasswordReachesTheToolsByTheirEnvironmentOnly() async throws {
        try await ScratchDatabase.with { database in
            let tools = try TemporaryDirectory("pg-tools")
            for tool in ["pg_dump", "pg_restore", "psql"] {
                let script = "#!/bin/sh\nprintf '%s\\n' \"$@\" > \(tools.file(tool + ".argv"))\nenv > \(tools.file(tool + ".env"))\n"
                try Data(script.utf8).write(to: URL(fileURLWithPath: tools.file(tool)))
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: tools.file(tool))
            }
            let folder = try TemporaryDirectory("pg-backup")
            _ = try await PostgresBackupFixture.migrator.backup(database.location, to: folder.file("b.pgdump"), toolFolder: tools.path)
            let argv = try String(contentsOfFile: tools.file("pg_dump.argv"), encoding: .utf8)
            let environment = try String(contentsOfFile: tools.file("pg_dump.env"), encoding: .utf8).split(separator: "\n")
            #expect(argv.hasPrefix("-w\n--format=custom\n--snapshot="), "\(argv)")
            #expect(!argv.contains(database.password))
            #expect(environment.contains("PGPASSWORD=\(database.password)"))
            #expect(environment.contains("PGDATABASE=\(database.location.database)"))
        }
    }

    private func sha256(_ path: String) throws -> String {
        let output = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        return String(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
    }

    private func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
