import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// `vmdb migrate --online` meeting what a live deployer's disk and database do to
/// it (issue 13): the disk filling up during the copy, a deployer transaction held
/// open across the cut-over, a file not in WAL mode. Each: the documented exit
/// code, a message that says what happened, and a file that is as it was or can
/// be resumed, never half-swapped.
@Suite(.serialized, .tags(.slow)) struct OnlineFailureTests {
    static let vms = 3_000

    static func template(_ directory: TemporaryDirectory, vms: Int = vms) throws -> String {
        let path = directory.file("template.db")
        try LargeDatabase.makeV2(at: path, vms: vms)
        return path
    }

    // MARK: Journal mode

    @Test(arguments: [[String](), ["--no-backup"]])
    func onlineOnADeleteModeFileIsExit65NamingTheModeAndTheCommand(_ extra: [String]) throws {
        let directory = try TemporaryDirectory("online-delete-mode")
        let path = directory.file("deployer.db")
        try Reliability.copy(try Self.template(directory), to: path)
        try JournalModes.set("delete", on: path)
        let before = try JournalModes.fileState(path)
        let result = try Reliability.vmdb(["migrate", "--db", path, "--online"] + extra)
        #expect(result.exitCode == 65, "\(result.standardError)")
        #expect(result.standardError.contains("journal mode delete"), "\(result.standardError)")
        // The command to type, with this file's path in it (it said `sqlite3 PATH …`).
        #expect(result.standardError.contains("sqlite3 \(path) 'PRAGMA journal_mode=WAL'"), "\(result.standardError)")
        #expect(result.standardError.contains("Nothing was changed"))
        #expect(try JournalModes.fileState(path) == before, "the file or a journal beside it changed")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(Reliability.files(in: directory.path, suffix: ".backup").isEmpty, "a backup was taken before the refusal")
        #expect(try JournalModes.headerVersions(path) == [1, 1], "the header no longer says rollback journal")
    }
}
