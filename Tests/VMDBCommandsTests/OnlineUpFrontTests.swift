import Foundation
import MigrationKit
import Testing
import VMDBCommands
import VMDBTestSupport

/// `migrate --online` checks every pending migration before the first one commits
/// (issue 22): on a v1 file, v2 is a plain step and v3 the online one, so a refusal of
/// v3 found only after v2 committed would make "nothing was changed" untrue.
@Suite struct OnlineUpFrontTests {
    @Test(arguments: ["delete", "truncate"])
    func aV1FileNotInWALIsRefusedBeforeV2Commits(mode: String) async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        try JournalModes.set(mode, on: path)
        let before = try Fixtures.fileHash(path)
        let console = Console.capture()
        let code = await VMDB.execute(["migrate", "--db", path, "--online", "--no-backup", "--default-network", "qa"], console: console)
        #expect(code == 65, "\(console.standardError)")
        #expect(console.standardError.contains("WAL") && console.standardError.contains("Nothing was changed"), "\(console.standardError)")
        #expect(try Fixtures.migrator.status(path: path).currentVersion == 1)
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func aV1FileInWALMigratesOnlineToTheLatest() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        try JournalModes.set("wal", on: path)
        let console = Console.capture()
        let code = await VMDB.execute(["migrate", "--db", path, "--online", "--no-backup", "--default-network", "qa"], console: console)
        #expect(code == 0, "\(console.standardError)")
        #expect(try Fixtures.migrator.status(path: path).currentVersion == Fixtures.migrator.catalog.latestVersion)
    }
}
