import Foundation
import GRDB
import Testing
import VMDBCommands
import VMDBTestSupport

/// A history row this vmdb cannot read is refused, never read as something else:
/// 4 when a newer vmdb wrote it, 5 when it was edited.
@Suite struct HistoryRowTests {
    func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    /// Edits version 2's row past the table's CHECK, as a hand or a newer tool could.
    func edit(_ path: String, _ assignments: String) throws {
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE vmdb_migrations SET \(assignments) WHERE version = 2")
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let assignments: String
        let exitCode: Int32
        let says: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "unknown kind, edited", assignments: "kind = 'squashed'", exitCode: 5, says: "kind 'squashed'"),
        Case(name: "unknown kind, newer vmdb", assignments: "kind = 'squashed', tool_version = '99.0.0'", exitCode: 4, says: "newer than this one (0.1.0)"),
        Case(name: "garbage verification, edited", assignments: "verification = '{not json'", exitCode: 5, says: "verification record"),
        Case(name: "foreign verification, newer vmdb", assignments: "verification = '{\"format\": 9}', tool_version = '0.10.0'", exitCode: 4, says: "Use the vmdb that migrated it"),
    ]

    @Test(arguments: cases)
    func anUnreadableRowIsRefusedByEveryCommand(_ item: Case) async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 3, in: directory)
        try edit(path, item.assignments)
        let before = try Fixtures.fileHash(path)
        for command in [["status"], ["migrate"], ["verify"]] {
            let result = await run(command + ["--db", path])
            #expect(result.code == item.exitCode, "\(command): \(result.err)")
            #expect(result.err.contains(item.says) && result.err.contains("migration 2"), "\(command): \(result.err)")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }
}
