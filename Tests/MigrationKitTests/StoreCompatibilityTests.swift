import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

/// `--! keeps-store-compatible-from: N`: a migration that promises a store built
/// for version N keeps working is parsed, checksummed like every other directive
/// but probes, and recorded in the history, where an older store reads it.
@Suite struct StoreCompatibilityTests {
    @Test func theDirectiveIsParsedAndAbsentMeansNoPromise() throws {
        let declared = try MigrationScript(fileName: "0005_region.sql", text: FutureMigrations.additiveNext())
        #expect(declared.definition.keepsStoreCompatibleFrom == 4)
        #expect(declared.definition.stepsBefore.count == 1)
        let silent = try MigrationScript(fileName: "0005_region.sql", text: FutureMigrations.additiveNext(declaresCompatibility: false))
        #expect(silent.definition.keepsStoreCompatibleFrom == nil)
        // Of the shipped ones, only v4 (provision intents, a table added) promises anything.
        #expect(ShippedMigrations.catalog.scripts.map(\.definition.keepsStoreCompatibleFrom) == [nil, nil, nil, 3])
    }

    @Test(arguments: [
        "--! keeps-store-compatible-from: 4", "--! keeps-store-compatible-from: 7", "--! keeps-store-compatible-from: three",
        "--! keeps-store-compatible-from 3", "--! keeps-store-compatible-from: 0",
        "--! keeps-store-compatible-from: 2\n--! keeps-store-compatible-from: 3",
    ])
    func aMalformedPromiseIsRefused(directive: String) throws {
        let error = try #require(throws: MigrationError.self) {
            try MigrationScript(fileName: "0004_region.sql", text: directive + "\n--! step\nALTER TABLE vms ADD COLUMN region TEXT;")
        }
        #expect(error.code == .malformedMigration && error.message.contains("keeps-store-compatible-from"), "\(error)")
    }

    /// Probes change nothing and are left out; a compatibility promise is what older
    /// stores act on, so it counts: a shipped migration cannot gain one unseen.
    @Test func theChecksumCoversThePromiseAndStillLeavesProbesOut() throws {
        let declared = try MigrationScript(fileName: "0005_region.sql", text: FutureMigrations.additiveNext())
        let silent = try MigrationScript(fileName: "0005_region.sql", text: FutureMigrations.additiveNext(declaresCompatibility: false))
        #expect(declared.checksum != silent.checksum)
        #expect(MigrationScript.checksumText(declared.text).contains("--! keeps-store-compatible-from: 4"))
        let probed = try MigrationScript(fileName: "0005_region.sql", text: FutureMigrations.additiveNext()
            + "\n--! probe accepts a region is stored: UPDATE vms SET region = 'eu'")
        #expect(probed.checksum == declared.checksum)
    }

    /// scripts/embed-migrations and MigrationScript compute the same sums, on the
    /// shipped files and on a next version that declares the promise (run on a copy of the
    /// repository's layout, so the real sum file is untouched).
    @Test func theEmbeddingScriptAndTheCatalogAgreeOnEverySum() throws {
        let root = try TemporaryDirectory("embed")
        let manager = FileManager.default
        for folder in ["scripts", "migrations", "migrations/postgres", "snapshots/v2-collision", "Sources/ShippedMigrations", "Sources/VMDBCommands/Support"] {
            try manager.createDirectory(atPath: root.file(folder), withIntermediateDirectories: true)
        }
        for file in ["scripts/embed-migrations", "snapshots/v2-collision/dump.sql", "snapshots/v2-collision/main-inventory.json"] {
            try manager.copyItem(atPath: (Fixtures.repositoryRoot as NSString).appendingPathComponent(file), toPath: root.file(file))
        }
        let files = ShippedMigrations.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
            + [(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())]
        for file in files { try file.text.write(toFile: root.file("migrations/\(file.name)"), atomically: true, encoding: .utf8) }
        let postgres = ShippedMigrations.postgresCatalog
        for script in postgres.scripts { try script.text.write(toFile: root.file("migrations/postgres/\(script.fileName)"), atomically: true, encoding: .utf8) }
        #expect(SystemTool.run("/usr/bin/env", ["python3", root.file("scripts/embed-migrations")]) == 0)
        let postgresSums = try String(contentsOfFile: root.file("migrations/postgres/SHA256SUMS"), encoding: .utf8)
        #expect(postgresSums == postgres.scripts.enumerated().map { "\($1.checksum)  \(postgres.chainedChecksums[$0])  \($1.fileName)\n" }.joined())
        let sums = try String(contentsOfFile: root.file("migrations/SHA256SUMS"), encoding: .utf8)
        let catalog = try MigrationCatalog(files: files)
        let expected = catalog.scripts.enumerated().map { "\($1.checksum)  \(catalog.chainedChecksums[$0])  \($1.fileName)\n" }.joined()
        #expect(sums == expected)
        // The shipped lines are the shipped sum file's: the promise changed no existing history.
        let shipped = try String(contentsOfFile: (Fixtures.repositoryRoot as NSString).appendingPathComponent("migrations/SHA256SUMS"), encoding: .utf8)
        #expect(sums.hasPrefix(shipped))
    }

    @Test func thePromiseIsRecordedInTheHistoryAndOnlyThenGetsAColumn() throws {
        let directory = try TemporaryDirectory("compatibility")
        let v3 = try Fixtures.database(version: 3, in: directory, name: "v3.db")
        let columns = { (path: String) in
            try DatabaseQueue(path: path).read { try $0.columns(in: "vmdb_migrations").map(\.name) }
        }
        // No migration promised anything: the history table is as every earlier version wrote it.
        #expect(try !columns(v3).contains("store_compatible_from"))

        let path = try FutureMigrations.database(migratedTo: [(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())], in: directory)
        #expect(try columns(path).contains("store_compatible_from"))
        let promises = try DatabaseQueue(path: path).read {
            try Row.fetchAll($0, sql: "SELECT version, store_compatible_from FROM vmdb_migrations ORDER BY version").map { row -> [Int?] in [row[0], row[1]] }
        }
        #expect(promises == [[1, nil], [2, nil], [3, nil], [4, 3], [5, 4]])
        let status = try FutureMigrations.migrator([(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())]).status(path: path)
        #expect(status.applied.map(\.keepsStoreCompatibleFrom) == [nil, nil, nil, 3, 4])
        #expect(status.currentVersion == 5)
    }

    @Test func aDatabaseMadeAtTheNextVersionRecordsThePromiseToo() throws {
        let directory = try TemporaryDirectory("compatibility")
        let path = directory.file("new.db")
        try FutureMigrations.migrator([(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())]).createDatabase(path: path)
        let promises = try DatabaseQueue(path: path).read {
            try Int.fetchAll($0, sql: "SELECT store_compatible_from FROM vmdb_migrations WHERE version >= 4 ORDER BY version")
        }
        #expect(promises == [3, 4])
    }
}
