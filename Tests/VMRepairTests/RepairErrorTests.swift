import Foundation
import SQLiteFiles
import Testing
import VMDBTestSupport
import VMRepair

/// Repair throws one error type: a file or SQLite failure comes out as a
/// ``RepairError`` whose kind decides the exit code, the file error kept for the advice.
@Suite struct RepairErrorTests {
    @Test func aMissingDatabaseIsAnUnusableDatabaseAndIsNotCreated() async throws {
        let directory = try TemporaryDirectory("repair-missing")
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": []}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        let session = RepairSession(databasePath: directory.file("typo.db"))
        let error = await #expect(throws: RepairError.self) { try await session.run([.file(path: inventory, network: nil)]) }
        #expect(error?.kind == .unusableDatabase)
        #expect(error?.file?.code == .noSuchDatabase)
        #expect(error?.message.contains("typo.db") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.file("typo.db")))
    }

    @Test func aFileThatIsNotSQLiteIsAnUnusableDatabaseLeftAsItWas() throws {
        let directory = try TemporaryDirectory("repair-not-sqlite")
        let path = directory.file("deployer.db")
        try Data("not a database, an operator's notes".utf8).write(to: URL(fileURLWithPath: path))
        let inventory = directory.file("main.json")
        try Data(#"{"network": "main", "vms": []}"#.utf8).write(to: URL(fileURLWithPath: inventory))
        let before = try Fixtures.fileHash(path)
        let error = #expect(throws: RepairError.self) {
            try RepairSession(databasePath: path).run([.file(path: inventory, network: nil)])
        }
        #expect(error?.kind == .unusableDatabase)
        #expect(error?.file?.code == .notADatabase)
        #expect(try Fixtures.fileHash(path) == before)
    }
}
