import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

/// `migrate --dry-run`: the same migrations on an online copy; the live file untouched.
@Suite struct DryRunTests {
    let migrator = Fixtures.migrator
    let perNetwork = Breakdown(title: "VMs per network", sql: "SELECT network, count(*) FROM vms GROUP BY network")

    func liveV2(_ directory: TemporaryDirectory, vms: Int = 50) throws -> String {
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2((0..<vms).map { (["main", "qa", "test"][$0 % 3], String(format: "%04d", $0)) }, into: path)
        _ = try DatabaseQueue(path: path).writeWithoutTransaction { try $0.checkpoint(.truncate) }
        return path
    }

    @Test func theLiveFileIsLeftByteForByteAndTheReportIsFull() throws {
        let directory = try TemporaryDirectory()
        let path = try liveV2(directory)
        let before = try Fixtures.fileHash(path)
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()

        let report = try migrator.dryRun(path: path, options: MigrationOptions(), breakdowns: [perNetwork])

        #expect(try Fixtures.fileHash(path) == before)
        #expect(try migrator.status(path: path).currentVersion == 2)
        let filesAfter = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(filesAfter.filter { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") } == filesBefore.filter { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") },
                "the dry run wrote something beside the live file")
        #expect(report.wouldSucceed)
        #expect(report.plan.migrations.map(\.version) == [3, 4])
        let run = try #require(report.run?.migrations.first)
        #expect(run.lockSeconds > 0)
        #expect(run.verification.tables.first { $0.table == "vms" }?.rowsAfter == 50)
        #expect(report.breakdowns.first?.before == ["main": 17, "qa": 17, "test": 16])
        #expect(report.breakdowns.first?.after == report.breakdowns.first?.before)
        #expect(report.schemaChanges.added.contains { $0.name == "vms_identity" })
    }

    /// Rows a hand-added network column left NULL or empty are one "(none)" group before,
    /// and the stated network's after.
    @Test func aBreakdownNamesNullAndEmptyLabelsNone() throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2([(network: "qa", id: "0001"), (network: nil, id: "0002"), (network: "", id: "0003")], into: path)
        var options = MigrationOptions()
        options.parameters = ["default_network": "main"]
        let report = try migrator.dryRun(path: path, options: options, breakdowns: [perNetwork])
        #expect(report.wouldSucceed)
        #expect(report.breakdowns.first?.before == ["(none)": 2, "qa": 1])
        #expect(report.breakdowns.first?.after == ["main": 2, "qa": 1])
    }

    @Test func aDryRunAndARealRunAgree() throws {
        let directory = try TemporaryDirectory()
        let path = try liveV2(directory)
        let dry = try #require(try migrator.dryRun(path: path, options: MigrationOptions()).run?.migrations.first?.verification)
        var options = MigrationOptions()
        options.takesBackup = false
        let real = try #require(try migrator.migrate(path: path, options: options).migrations.first?.verification)
        #expect(dry.tables == real.tables)
        #expect(dry.schemaChanges == real.schemaChanges)
    }

    @Test func aFailingDryRunReportsAndLeavesTheLiveFile() throws {
        let directory = try TemporaryDirectory()
        let path = try liveV2(directory)
        let before = try Fixtures.fileHash(path)
        var files = migrator.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        files[2].text += "\n--! step\nDELETE FROM vms WHERE id = 1;\n"
        let lossy = Migrator(catalog: try MigrationCatalog(files: files), toolVersion: "test", configuration: ShippedMigrations.configuration)

        let report = try lossy.dryRun(path: path, options: MigrationOptions())
        #expect(!report.wouldSucceed)
        #expect(report.failure?.kind == .verificationFailed)
        #expect(report.failure?.message.contains("vms: 50 rows before, 49 after") == true)
        #expect(report.failure?.message.contains(path) == true, "the message should name the live file, not the temporary copy")
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func keepCopyKeepsAPrivateMigratedCopyThatCanBeDryRunAgain() throws {
        let directory = try TemporaryDirectory()
        let path = try liveV2(directory)
        let copy = directory.file("inspect.db")
        let report = try migrator.dryRun(path: path, options: MigrationOptions(), keepCopy: copy)
        #expect(report.keptCopy == copy)
        #expect(try migrator.status(path: copy).currentVersion == FutureMigrations.latestShipped)
        let mode = try #require(FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: copy + ".vmdb-lock"))
        let again = try migrator.dryRun(path: copy, options: MigrationOptions())
        #expect(again.wouldSucceed && again.plan.migrations.isEmpty)
    }

    @Test func aDeployerKeepsWritingDuringTheDryRunAndLosesNothing() throws {
        let directory = try TemporaryDirectory()
        let path = try liveV2(directory, vms: 3000)
        let deployer = try StandInDeployer(path: path, prefix: "w", in: directory)   // inserts only
        deployer.waitForAcknowledged(5)

        let report = try migrator.dryRun(path: path, options: MigrationOptions())
        deployer.waitForAcknowledged(deployer.acknowledged.count + 5)
        let acknowledged = deployer.stop()   // "i NETWORK VM_ID" each

        #expect(report.wouldSucceed)
        #expect(acknowledged.count >= 10)
        let stored = Set(try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT 'i ' || network || ' ' || vm_id FROM vms") })
        #expect(Set(acknowledged).isSubset(of: stored), "an acknowledged insert is missing")
        #expect(try migrator.status(path: path).currentVersion == 2)
    }
}
