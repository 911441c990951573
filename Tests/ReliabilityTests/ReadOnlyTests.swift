import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// A database file or folder that cannot be written: a clear refusal before
/// anything starts, and the file as it was. Tests run as root, for whom
/// permission bits do not block writes, so the read-only cases use what does
/// stop root: the immutable attribute (`chattr +i`) and a read-only mount.
@Suite struct ReadOnlyTests {
    static func v2Database(in directory: TemporaryDirectory) throws -> String {
        let path = try Fixtures.database(version: 2, in: directory)
        try Fixtures.insertV2(Fixtures.eightVMIds.map { (network: "qa", id: $0) }, into: path)
        return path
    }

    @Test(.enabled(if: SystemTool.hasChattr, "needs chattr and a filesystem with the immutable attribute"),
          arguments: ["file", "folder"])
    func anImmutableFileOrFolderIsRefusedBeforeAnythingStarts(_ what: String) throws {
        let directory = try TemporaryDirectory("immutable")
        let path = try Self.v2Database(in: directory)
        let hash = try Fixtures.fileHash(path)
        let target = what == "file" ? path : directory.path
        #expect(SystemTool.run("/usr/bin/chattr", ["+i", target]) == 0)
        defer { SystemTool.run("/usr/bin/chattr", ["-i", target]) }
        let other = try TemporaryDirectory("immutable-backup")
        let backup = try Fixtures.database(version: 2, in: other, name: "good.backup")
        for arguments in [["migrate", "--db", path], ["migrate", "--db", path, "--no-backup"], ["restore", "--db", path, "--from", backup]] {
            let result = try Reliability.vmdb(arguments)
            #expect(result.exitCode == 65, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains("read-only"), "\(arguments): \(result.standardError)")
        }
        if what == "file" {
            // Reading still works: status tells the truth.
            let status = try Reliability.vmdb(["status", "--db", path])
            #expect(status.exitCode == 0 && status.standardOutput.contains("schema version: 2"), "\(status.standardError)")
        }
        #expect(try Fixtures.fileHash(path) == hash)
    }

    @Test(.enabled(if: SystemTool.hasChattr, "needs chattr"))
    func aReadOnlyFolderIsNamedReadOnlyByRestoreAndStatus() throws {
        let directory = try TemporaryDirectory("immutable-folder")
        let path = try Self.v2Database(in: directory)
        let other = try TemporaryDirectory("immutable-folder-backup")
        let backup = try Fixtures.database(version: 2, in: other, name: "good.backup")
        #expect(SystemTool.run("/usr/bin/chattr", ["+i", directory.path]) == 0)
        defer { SystemTool.run("/usr/bin/chattr", ["-i", directory.path]) }
        let restore = try Reliability.vmdb(["restore", "--db", path, "--from", backup])
        #expect(restore.exitCode == 65 && restore.standardError.contains("read-only"), "\(restore.standardError)")
        let status = try Reliability.vmdb(["status", "--db", path])
        #expect(status.exitCode == 0 || (status.exitCode == 65 && status.standardError.contains("read-only")), "\(status.standardError)")
    }

    @Test(.enabled(if: SizeLimitedFolder.isAvailable, "\(SizeLimitedFolder.unavailableReason)"))
    func aReadOnlyMountIsRefusedBeforeAnythingStarts() throws {
        let directory = try TemporaryDirectory("ro-mount-src")
        let source = try Self.v2Database(in: directory)
        let disk = try SizeLimitedFolder(bytes: 8 << 20)
        let path = disk.file("deployer.db")
        try Reliability.copy(source, to: path)
        let hash = try Fixtures.fileHash(path)
        #expect(disk.remount(readOnly: true))
        defer { _ = disk.remount(readOnly: false) }
        let migrate = try Reliability.vmdb(["migrate", "--db", path])
        #expect(migrate.exitCode == 65, "\(migrate.standardError)")
        #expect(migrate.standardError.contains("read-only"), "\(migrate.standardError)")
        let init3 = try Reliability.vmdb(["init", "--db", disk.file("new.db")])
        #expect(init3.exitCode != 0 && !FileManager.default.fileExists(atPath: disk.file("new.db")), "\(init3.standardError)")
        #expect(try Fixtures.fileHash(path) == hash)
    }

    /// What really happens for root: mode 0444 does not stop root from writing,
    /// and vmdb (asking the kernel, as `access(2)` does) does not pretend it does.
    /// For any other user the same file is refused.
    @Test func aMode0444FileIsRefusedForUsersAndWritableForRoot() throws {
        let directory = try TemporaryDirectory("mode-0444")
        let path = try Self.v2Database(in: directory)
        chmod(path, 0o444)
        let result = try Reliability.vmdb(["migrate", "--db", path])
        if getuid() == 0 {
            #expect(result.exitCode == 0, "\(result.standardError)")
            #expect(Reliability.mode(path) == 0o444, "the migration changed the file's mode")
        } else {
            #expect(result.exitCode == 65 && result.standardError.contains("read-only"))
        }
    }
}
