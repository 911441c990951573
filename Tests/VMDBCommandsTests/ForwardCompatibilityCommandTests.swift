import Foundation
import Testing
import VMDBTestSupport

/// `vmdb vm …` on a database one test migration ahead of the tool: it works when
/// that migration keeps a store of the latest version working, and exits 4 naming it when not.
@Suite struct ForwardCompatibilityCommandTests {
    @Test func aNextVersionThatKeepsTheStoreWorkingIsListedShownAndWritten() throws {
        let directory = try TemporaryDirectory("forward-cli")
        let path = try FutureMigrations.database(migratedTo: [(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())], in: directory)
        let list = try VMDBProcess.run(["vm", "list", "--db", path])
        #expect(list.exitCode == 0, "\(list.standardError)")
        #expect(list.standardOutput.contains("main-web") && list.standardOutput.contains("qa-web"))
        #expect(try VMDBProcess.run(["vm", "delete", "qa/005o", "--db", path]).exitCode == 0)
        #expect(try VMDBProcess.run(["vm", "show", "005o", "--db", path]).exitCode == 0)
    }

    @Test func aNextVersionThatMakesNoPromiseExits4WithWhatToDo() throws {
        let directory = try TemporaryDirectory("forward-cli")
        let path = try FutureMigrations.database(migratedTo: [(name: FutureMigrations.fileName("drop_metadata"), text: FutureMigrations.breakingNext)], in: directory)
        let before = try Fixtures.fileHash(path)
        let run = try VMDBProcess.run(["vm", "list", "--db", path])
        #expect(run.exitCode == 4)
        #expect(run.standardError.contains("schema version 5") && run.standardError.contains("migration 5 (drop_metadata)")
                && run.standardError.contains("built for version 5 or later"), "\(run.standardError)")
        #expect(try Fixtures.fileHash(path) == before)
    }
}
