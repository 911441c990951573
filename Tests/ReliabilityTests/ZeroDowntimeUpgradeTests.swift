import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// The three-step upgrade (issue 15): a deployer built on VMStore runs on v2 (a file
/// that has never seen vmdb, in the first test, as in production), `vmdb
/// migrate --online` runs beside it, and the deployer goes on on v3 with no restart
/// and no failed write. The deployer is `vmdb-bench deployer`: the real store, in its
/// own process, one durable transaction per write, busy timeout 1 s.
@Suite(.serialized) struct ZeroDowntimeUpgradeTests {
    struct Acknowledged: Decodable {
        let op: String
        let network: String
        let vmID: String
        let value: String?
    }

    struct LoadReport: Decodable {
        let attempted: Int
        let succeeded: Int
        let failed: [String: Int]
        let failures: [String]
        let versionsSeen: [Int]
        let collisionsRefused: Int
        let collisionsRecorded: Int
        let latencyMilliseconds: [String: Double]
        let acknowledged: [Acknowledged]
    }

    /// Starts the load generator; `finish` lets it write a while longer, stops it and reads its report.
    ///
    /// It runs until told to stop (at most `seconds`), not for a fixed time: on CI's
    /// shared cores the migration once outlasted a fixed 7 s load, and the deployer
    /// never wrote on v3.
    final class Load: @unchecked Sendable {
        let process = Process()
        let output: String
        let stopFile: String

        init(path: String, seconds: Double = 120, in directory: TemporaryDirectory) throws {
            output = directory.file("load.json")
            stopFile = directory.file("stop-load")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = URL(fileURLWithPath: VMDBProcess.builtExecutable("vmdb-bench"))
            process.arguments = ["deployer", "--db", path, "--seconds", String(seconds), "--rate", "100", "--busy-timeout", "1", "--seed", "15",
                                 "--stop-file", stopFile]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Lets the deployer write `writingOn` seconds more (on the new version), then stops it.
        func finish(writingOn seconds: Double = 2) throws -> LoadReport {
            Thread.sleep(forTimeInterval: seconds)
            _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "the load generator exited \(process.terminationStatus)")
            return try JSONDecoder().decode(LoadReport.self, from: Data(contentsOf: URL(fileURLWithPath: output)))
        }
    }

    /// Every write the store acknowledged, replayed in order, is what the file holds.
    static func expectEveryAcknowledgedWritePresent(_ report: LoadReport, in path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        struct Expected { var exists = true; var status = "provisioning"; var installed: String?; var events: [String] = [] }
        var expected: [String: Expected] = [:]
        for write in report.acknowledged {
            let key = write.network + "/" + write.vmID
            switch write.op {
            case "provision": expected[key] = Expected()
            case "status": expected[key]?.status = write.value ?? ""
            case "installed": expected[key]?.installed = write.value
            case "event": expected[key]?.events.append(write.value ?? "")
            case "delete": expected[key] = Expected(exists: false)
            default: break
            }
        }
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        var wrong: [String] = []
        try queue.read { db in
            for (key, want) in expected {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                let row = try Row.fetchOne(db, sql: "SELECT status, installed_version FROM vms WHERE network = ? AND vm_id = ?", arguments: [parts[0], parts[1]])
                let events = try String.fetchAll(db, sql: "SELECT kind FROM vm_events WHERE network = ? AND vm_id = ? AND kind LIKE 'load-%'", arguments: [parts[0], parts[1]])
                if !want.exists {
                    if row != nil || !events.isEmpty { wrong.append("\(key) was deleted and is there") }
                } else if let row {
                    if row["status"] as String? != want.status || row["installed_version"] as String? != want.installed || Set(events) != Set(want.events) {
                        wrong.append("\(key): \(row), events \(events.sorted()) instead of status \(want.status), installed \(want.installed ?? "nil"), events \(want.events.sorted())")
                    }
                } else {
                    wrong.append("\(key) was acknowledged and is missing")
                }
            }
        }
        #expect(expected.count > 50, "the load touched only \(expected.count) VMs", sourceLocation: sourceLocation)
        #expect(wrong.isEmpty, "\(wrong.count) acknowledged writes not in the file, first: \(wrong.prefix(3))", sourceLocation: sourceLocation)
    }

    static func expectNoFailedWrite(_ report: LoadReport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.failed.isEmpty, "failed writes: \(report.failed), first: \(report.failures.prefix(3))", sourceLocation: sourceLocation)
        // migrate goes on to the latest version (v4, which only adds a table): the deployer may see
        // v3 between, or go from 2 straight to 4 when both commit between two of its transactions.
        #expect(report.versionsSeen.first == 2 && report.versionsSeen.last == 4 && report.versionsSeen == report.versionsSeen.sorted(),
                "versions seen: \(report.versionsSeen)", sourceLocation: sourceLocation)
        #expect(report.collisionsRefused > 0, "no collision was refused on v2", sourceLocation: sourceLocation)
        #expect(report.collisionsRecorded > 0, "no collision was recorded on v3", sourceLocation: sourceLocation)
    }

    @Test func theDeployerKeepsProvisioningThroughTheOnlineMigration() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("zero-downtime")
            let path = directory.file("deployer.db")
            // As every production deployer's file: it has never seen vmdb (issue 22). The store opens
            // it by its tables' shape (step 1), and migrate records the baseline as it migrates.
            try LargeDatabase.makeV2(at: path, vms: 3_000, managed: false)
            let load = try Load(path: path, in: directory)
            Thread.sleep(forTimeInterval: 1.5)   // collisions refused on v2 first
            let migrate = try VMDBProcess.run(["migrate", "--db", path, "--online", "--no-backup", "--default-network", "main", "--chunk-ms", "2"])
            #expect(migrate.exitCode == 0, "\(migrate.standardError)")
            let report = try load.finish()
            print(String(format: "zero-downtime: migrate --online took %.2f s; the deployer saw versions %@, %d writes", migrate.seconds,
                         "\(report.versionsSeen)", report.succeeded))
            Self.expectNoFailedWrite(report)
            try Self.expectEveryAcknowledgedWritePresent(report, in: path)
            #expect(try VMDBProcess.run(["verify", "--db", path]).exitCode == 0)
        }
    }

    @Test func aMigrationKilledMidwayAndRunAgainCostsTheDeployerNothing() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("zero-downtime-kill")
            let path = directory.file("deployer.db")
            try LargeDatabase.makeV2(at: path, vms: 3_000)
            let load = try Load(path: path, in: directory)
            Thread.sleep(forTimeInterval: 1.5)
            let first = try WatchedProcess(["migrate", "--db", path, "--online", "--no-backup", "--default-network", "main", "--progress",
                                            "--chunk-ms", "1", "--pace", "3"], in: directory, label: "killed")
            #expect(first.waitFor("online: copy", timeout: 60), "\(first.standardError)")
            first.kill()
            _ = first.finish()
            Thread.sleep(forTimeInterval: 1)     // the deployer writes through the leftover capture triggers
            let again = try VMDBProcess.run(["migrate", "--db", path, "--online", "--no-backup", "--default-network", "main"])
            #expect(again.exitCode == 0, "\(again.standardError)")
            let report = try load.finish()
            Self.expectNoFailedWrite(report)
            try Self.expectEveryAcknowledgedWritePresent(report, in: path)
            #expect(try VMDBProcess.run(["verify", "--db", path]).exitCode == 0)
        }
    }
}
