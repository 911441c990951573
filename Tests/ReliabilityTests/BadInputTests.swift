import Foundation
import GRDB
import Testing
import VMDBTestSupport

/// Bad input through the built binary: each a documented exit code, a message
/// naming the problem, and the file byte for byte as it was. Cases the other
/// test targets already cover are listed in RELIABILITY.md, not repeated here.
@Suite struct BadInputTests {
    /// Every command that reads a database, as an operator would type it.
    static let commands: [[String]] = [
        ["status"], ["status", "--check"], ["plan"], ["verify"], ["migrate"], ["migrate", "--dry-run"],
        ["backup", "--to", "BACKUP"], ["vm", "list"],
    ]

    enum Damage: String, CaseIterable, Sendable {
        case empty, text, headerOnly, truncated, corruptedPage
    }

    /// A database with 200 VMs, damaged as asked.
    static func damaged(_ damage: Damage, in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("deployer.db")
        switch damage {
        case .empty:
            _ = FileManager.default.createFile(atPath: path, contents: Data())
        case .text:
            try Data("id,vm_id,name\n1,005o,web\n".utf8).write(to: URL(fileURLWithPath: path))
        case .headerOnly:
            try (Data("SQLite format 3\0".utf8) + Data(repeating: 0, count: 84)).write(to: URL(fileURLWithPath: path))
        case .truncated, .corruptedPage:
            try LargeDatabase.makeV2(at: path, vms: 2_000)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            if damage == .truncated {
                bytes = bytes.prefix(bytes.count / 2)
            } else {
                // Scribble over a leaf page of vms (its cell pointers and cells), as a bad sector would.
                let page = try DatabaseQueue(path: path).read { db in
                    try Int.fetchOne(db, sql: "SELECT pageno FROM dbstat WHERE name = 'vms' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 5")
                } ?? 10
                let start = (page - 1) * 4096 + 8
                for offset in start..<(start + 2000) { bytes[offset] = UInt8((offset * 37) & 0xff) }
            }
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        return path
    }

    @Test(arguments: Damage.allCases)
    func aDamagedFileIsRefusedByEveryCommandAndLeftAsItWas(_ damage: Damage) throws {
        let directory = try TemporaryDirectory("damaged")
        let path = try Self.damaged(damage, in: directory)
        let hash = try Fixtures.fileHash(path)
        for command in Self.commands {
            let arguments = command.map { $0 == "BACKUP" ? directory.file("copy.backup") : $0 } + ["--db", path]
            let result = try Reliability.vmdb(arguments)
            // A damaged data page is found only by what reads it: status and plan read the schema alone
            // (0, or 3 pending); verify reports it, migrate and backup refuse after their backup's check (65).
            let allowed: Set<Int32> = damage != .corruptedPage ? [65]
                : (["status", "plan"].contains(command[0]) ? [0, 3, 65] : [65])
            #expect(allowed.contains(result.exitCode), "\(damage) \(command): exit \(result.exitCode): \(result.standardError)")
            if result.exitCode != 0 {
                let message = result.standardError + result.standardOutput
                #expect(message.contains(path) || message.contains("backup"), "\(damage) \(command): the message does not name the file: \(message)")
            }
            #expect(try Fixtures.fileHash(path) == hash, "\(damage) \(command) changed the file")
            #expect(!FileManager.default.fileExists(atPath: directory.file("copy.backup")), "\(damage): a backup of a damaged file was kept")
        }
    }

    /// Every command that takes --db, with what else it needs to get as far as opening it (GOOD: a v2 backup).
    static let everyCommandOpeningTheDatabase: [[String]] = [
        ["status"], ["plan"], ["verify"], ["migrate"], ["migrate", "--dry-run"], ["backup", "--to", "/tmp/vmdb-never.backup"],
        ["restore", "--from", "GOOD"], ["vm", "list"], ["repair", "--inventory", "/dev/null", "--network", "main"],
    ]

    @Test(arguments: everyCommandOpeningTheDatabase)
    func aMissingPathIsExit65AndNothingIsCreated(_ command: [String]) throws {
        let directory = try TemporaryDirectory("missing")
        let other = try TemporaryDirectory("missing-good")
        let good = try Fixtures.database(version: 2, in: other)
        let path = directory.file("typo.db")
        let result = try Reliability.vmdb(command.map { $0 == "GOOD" ? good : $0 } + ["--db", path])
        #expect(result.exitCode == 65, "\(command): \(result.standardError)")
        #expect(result.standardError.contains("typo.db"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "\(command) created a file")
    }

    /// `--db /tmp`: a wrong path, not a damaged file, so the advice is to give the file, not to restore one.
    @Test(arguments: everyCommandOpeningTheDatabase)
    func aFolderIsExit65AndToldToGiveTheFile(_ command: [String]) throws {
        let directory = try TemporaryDirectory("folder")
        let other = try TemporaryDirectory("folder-good")
        let good = try Fixtures.database(version: 2, in: other)
        let folder = directory.file("deployer.d")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let result = try Reliability.vmdb(command.map { $0 == "GOOD" ? good : $0 } + ["--db", folder])
        #expect(result.exitCode == 65, "\(command): \(result.standardError)")
        #expect(result.standardError.contains("\(folder) is a folder") || result.standardError.contains("a folder, not a database file"),
                "\(command): \(result.standardError)")
        #expect(result.standardError.contains("path of the SQLite file"), "\(command): \(result.standardError)")
        #expect(!result.standardError.contains("from a backup"), "\(command) advises a restore for a folder: \(result.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["deployer.d"], "\(command) created a file beside the folder")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "\(command) created a file in the folder")
    }

    @Test(arguments: ["\u{1b}[2J", "qa\tmain", "qa\nmain", "qa\u{7f}", " ", String(repeating: "n", count: 65), "\u{85}qa"])
    func aDefaultNetworkWithControlCharactersIsRefused(_ network: String) throws {
        // (Empty, a space inside, BEL and '/' are covered by MigrationCommandTests.badDefaultNetworksAreRefused;
        // a NUL cannot be passed at all: argv strings end at it.)
        let directory = try TemporaryDirectory("network")
        let path = try Fixtures.database(version: 1, in: directory)
        try Fixtures.insertV1(Fixtures.eightVMIds, into: path)
        let hash = try Fixtures.fileHash(path)
        let result = try Reliability.vmdb(["migrate", "--db", path, "--default-network", network])
        #expect(result.exitCode == 64, "\(network.debugDescription): \(result.standardError)")
        #expect(result.standardError.contains("--default-network"))
        #expect(try Fixtures.fileHash(path) == hash)
    }

    @Test
    func aCorruptedDatabaseIsNamedCorruptNotDiskFull() throws {
        let directory = try TemporaryDirectory("corrupt-code")
        let path = try Self.damaged(.corruptedPage, in: directory)
        for arguments in [["migrate", "--db", path], ["backup", "--db", path, "--to", directory.file("b.backup")], ["migrate", "--dry-run", "--db", path]] {
            let result = try Reliability.vmdb(arguments)
            #expect(result.exitCode == 65, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains("corrupt") || result.standardError.contains("malformed"))
        }
    }

    @Test func aCorruptedPageFoundByVerifyIsReportedAndRestoreRefusesIt() throws {
        let directory = try TemporaryDirectory("corrupt-verify")
        let path = try Self.damaged(.corruptedPage, in: directory)
        let verify = try Reliability.vmdb(["verify", "--db", path])
        #expect(verify.exitCode != 0, "verify passed a corrupted file")
        let good = try Fixtures.database(version: 2, in: directory, name: "good.db")
        let goodHash = try Fixtures.fileHash(good)
        let restore = try Reliability.vmdb(["restore", "--db", good, "--from", path])
        #expect(restore.exitCode == 65, "\(restore.standardError)")
        #expect(try Fixtures.fileHash(good) == goodHash)
    }
}
