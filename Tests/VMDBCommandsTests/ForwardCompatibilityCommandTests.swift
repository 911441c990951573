import Foundation
import Testing
import VMDBTestSupport

/// `vmdb vm …` on a database one test migration ahead of the tool: it works when
/// that migration keeps a v3 store working, and exits 4 naming it when not.
@Suite struct ForwardCompatibilityCommandTests {
    @Test func aV4ThatKeepsTheStoreWorkingIsListedShownAndWritten() throws {
        let directory = try TemporaryDirectory("forward-cli")
        let path = try FutureMigrations.database(migratedTo: [(name: "0004_region.sql", text: FutureMigrations.additiveV4())], in: directory)
        let list = try VMDBProcess.run(["vm", "list", "--db", path])
        #expect(list.exitCode == 0, "\(list.standardError)")
        #expect(list.standardOutput.contains("main-web") && list.standardOutput.contains("qa-web"))
        #expect(try VMDBProcess.run(["vm", "delete", "qa/005o", "--db", path]).exitCode == 0)
        #expect(try VMDBProcess.run(["vm", "show", "005o", "--db", path]).exitCode == 0)
    }

    @Test func aV4ThatMakesNoPromiseExits4WithWhatToDo() throws {
        let directory = try TemporaryDirectory("forward-cli")
        let path = try FutureMigrations.database(migratedTo: [(name: "0004_drop_metadata.sql", text: FutureMigrations.breakingV4)], in: directory)
        let before = try Fixtures.fileHash(path)
        let run = try VMDBProcess.run(["vm", "list", "--db", path])
        #expect(run.exitCode == 4)
        #expect(run.standardError.contains("schema version 4") && run.standardError.contains("migration 4 (drop_metadata)")
                && run.standardError.contains("built for version 4 or later"), "\(run.standardError)")
        #expect(try Fixtures.fileHash(path) == before)
    }
}
