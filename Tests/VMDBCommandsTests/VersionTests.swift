import Foundation
import GRDB
import Testing
import VMDBCommands
import VMDBTestSupport

/// `vmdb --version` and `vmdb status` answer a support question in one paste: the version
/// (VERSION), the commit the binary was built from, and the SQLite it runs on.
@Suite struct VersionTests {
    func run(_ arguments: [String]) async -> (code: Int32, out: String, err: String) {
        let console = Console.capture()
        let code = await VMDB.execute(arguments, console: console)
        return (code, console.standardOutput, console.standardError)
    }

    /// What the line must say, found independently of the code that writes it.
    var expectedLine: String {
        get throws {
            let version = try String(contentsOfFile: Fixtures.repositoryRoot + "/VERSION", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let sqlite = try #require(try DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") })
            return "vmdb \(version) (commit \(try checkoutCommit()), SQLite \(sqlite))"
        }
    }

    /// `git rev-parse --short HEAD` of this checkout, `-dirty` when what the binary is built from
    /// differs (Plugins/BuildInfoPlugin's rule); `unknown` without git.
    func checkoutCommit() throws -> String {
        func git(_ arguments: [String]) throws -> (status: Int32, out: String) {
            let process = Process()
            let pipe = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-C", Fixtures.repositoryRoot] + arguments
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let head = try git(["rev-parse", "--short", "HEAD"])
        guard head.status == 0, !head.out.isEmpty else { return "unknown" }
        let changes = try git(["status", "--porcelain", "--", "Sources", "Plugins", "Package.swift", "VERSION"])
        return changes.status == 0 && changes.out.isEmpty ? head.out : head.out + "-dirty"
    }

    @Test func versionNamesTheVersionTheCommitAndTheSQLiteItRunsOn() async throws {
        let result = await run(["--version"])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out == (try expectedLine) + "\n")
        // The built binary, as an operator runs it, says the same.
        let process = try VMDBProcess.run(["--version"])
        #expect(process.exitCode == 0, "\(process.standardError)")
        #expect(process.standardOutput == result.out)
    }

    @Test func statusPrintsTheSameLineInTextAndJSON() async throws {
        let directory = try TemporaryDirectory()
        let path = try Fixtures.database(version: 2, in: directory)
        let line = try expectedLine
        let text = await run(["status", "--db", path])
        #expect(text.code == 0, "\(text.err)")
        #expect(text.out.split(separator: "\n").first.map(String.init) == line, "\(text.out)")

        let json = await run(["status", "--db", path, "--format", "json"])
        #expect(json.code == 0, "\(json.err)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let build = try #require(document["vmdb"] as? [String: Any])
        #expect(build["line"] as? String == line)
        await #expect(build["sqliteVersion"] as? String == (try DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") }))
        #expect(line.contains("commit \(build["commit"] as? String ?? "?"),"))
        // A field added, none renamed: the status fields scripts read are all still there.
        for key in ["path", "currentVersion", "latestVersion", "isManaged", "applied", "pending", "journalMode"] {
            #expect(document[key] != nil, "\(key) missing from \(document.keys.sorted())")
        }
    }
}
