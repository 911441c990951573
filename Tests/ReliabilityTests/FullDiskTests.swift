import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// A disk that fills up, for real: the database lives on a size-limited tmpfs,
/// and another "process" (a filler file) takes the free space at a chosen
/// moment while vmdb is frozen (SIGSTOP) in that phase. Every case ends with
/// exit 74, a message saying space ran out, and the file as it was.
@Suite(.serialized, .tags(.slow), .enabled(if: SizeLimitedFolder.isAvailable, "\(SizeLimitedFolder.unavailableReason)"))
struct FullDiskTests {
    static let vms = 20_000

    /// A v2 database of `vms` VMs copied onto a new tmpfs of `size` bytes.
    static func database(on size: Int64, version: Int = 2) throws -> (SizeLimitedFolder, String, TemporaryDirectory) {
        let scratch = try TemporaryDirectory("full-disk-src")
        let source = scratch.file("source.db")
        if version == 2 { try LargeDatabase.makeV2(at: source, vms: vms) } else { try LargeDatabase.makeV3(at: source, vms: vms) }
        let disk = try SizeLimitedFolder(bytes: size)
        let path = disk.file("deployer.db")
        try Reliability.copy(source, to: path)
        return (disk, path, scratch)
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
    }

    /// Runs vmdb, freezes it when `marker` appears, fills the disk, lets it go on.
    static func runFillingAt(_ marker: String, _ arguments: [String], disk: SizeLimitedFolder, in directory: TemporaryDirectory) throws -> (WatchedProcess.Outcome, Bool) {
        let child = try WatchedProcess(arguments + ["--progress"], in: directory)
        let reached = child.waitFor(marker)
        if reached {
            child.pause()
            disk.fill()
            child.resume()
        }
        let outcome = child.finish()
        disk.release()
        return (outcome, reached)
    }

    @Test func thePreflightRefusesARunThatCannotFitBeforeItStarts() throws {
        let (disk, path, scratch) = try Self.database(on: 40 << 20)
        let size = Self.fileSize(path)
        // Leave room for the file to be read and a little more, far less than backup + new tables + WAL.
        disk.fill(leaving: size / 2)
        let hash = try Fixtures.fileHash(path)
        let result = try Reliability.vmdb(["migrate", "--db", path])
        disk.release()
        #expect(result.exitCode == 74, "\(result.standardError)")
        #expect(result.standardError.contains("not enough disk space") && result.standardError.contains("needs about"), "\(result.standardError)")
        #expect(try Fixtures.fileHash(path) == hash)
        #expect(Reliability.files(in: disk.path, suffix: ".backup").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        withExtendedLifetime(scratch) {}
    }

    @Test(arguments: [
        ("during the backup", "vmdb: backup", [String]()),
        ("during the table copy", "vmdb: copy vms", ["--no-backup"]),
        ("during the index rebuild", "vmdb: copy vm_events done", ["--no-backup"]),
    ])
    func aDiskFillingUpDuringMigrateRollsBackAndExits74(_ moment: String, _ marker: String, _ extra: [String]) async throws {
        try await offThePool {
            let (disk, path, scratch) = try Self.database(on: 64 << 20)
            let before = try ContentFingerprint.of(path)
            let hash = try Fixtures.fileHash(path)
            let (outcome, reached) = try Self.runFillingAt(marker, ["migrate", "--db", path] + extra, disk: disk, in: scratch)
            #expect(reached, "\(moment): vmdb never reached \(marker): \(outcome.standardError)")
            #expect(outcome.exitCode == 74, "\(moment): \(outcome.standardError)")
            #expect(outcome.standardError.contains("disk") || outcome.standardError.contains("space"), "\(outcome.standardError)")
            print("full disk \(moment): exit \(outcome.exitCode): \(outcome.standardError.split(separator: "\n").last(where: { $0.contains("error:") }) ?? "")")
            #expect(try Fixtures.fileHash(path) == hash, "\(moment): the file changed")
            #expect(try ContentFingerprint.of(path) == before)
            #expect(try DatabaseQueue(path: path).read(Reliability.recordedVersion) == 2)
            #expect(Reliability.files(in: disk.path, suffix: ".backup").isEmpty, "a failed backup was left behind")
            // With the space back, the same command finishes the job.
            let again = try Reliability.vmdb(["migrate", "--db", path] + extra)
            #expect(again.exitCode == 0, "\(again.standardError)")
            #expect(try ContentFingerprint.of(path) == before)
        }
    }

    @Test func aDiskFillingUpWhileRepairRecordsOrphansRecordsNone() async throws {
        try await offThePool {
            let (disk, path, scratch) = try Self.database(on: 64 << 20, version: 3)
            let inventory = scratch.file("main.json")
            try RepairCrashTests.writeInventory(for: path, orphans: 20_000, to: inventory)
            let hash = try Fixtures.fileHash(path)
            let (outcome, reached) = try Self.runFillingAt("vmdb: record orphans",
                                                           ["repair", "--db", path, "--inventory", inventory, "--apply", "--no-backup"],
                                                           disk: disk, in: scratch)
            #expect(reached)
            #expect(outcome.exitCode == 74, "\(outcome.standardError)")
            #expect(outcome.standardError.contains("disk filled up") && outcome.standardError.contains("nothing was recorded"), "\(outcome.standardError)")
            print("full disk during repair --apply: exit \(outcome.exitCode): \(outcome.standardError.split(separator: "\n").last(where: { $0.contains("error:") }) ?? "")")
            #expect(try Fixtures.fileHash(path) == hash)
            let counts = try RepairCrashTests.counts(path)
            #expect(counts.vms == Self.vms && counts.audits == 0 && counts.integrity == ["ok"])
        }
    }

    @Test func repairRefusesWhenTheBackupCannotFit() throws {
        let (disk, path, scratch) = try Self.database(on: 64 << 20, version: 3)
        let inventory = scratch.file("main.json")
        try RepairCrashTests.writeInventory(for: path, orphans: 100, to: inventory)
        let hash = try Fixtures.fileHash(path)
        disk.fill(leaving: Self.fileSize(path) / 2)
        let result = try Reliability.vmdb(["repair", "--db", path, "--inventory", inventory, "--apply"])
        disk.release()
        #expect(result.exitCode == 74, "\(result.standardError)")
        #expect(result.standardError.contains("not enough space for the backup"), "\(result.standardError)")
        #expect(try Fixtures.fileHash(path) == hash)
        #expect(Reliability.files(in: disk.path, suffix: ".backup").isEmpty)
    }
}
