import Foundation
import GRDB
import MigrationKit
import SQLiteFiles
import Testing
import VMDBTestSupport

/// Every SQLite result code vmdb maps, put in the operator's terms: the kind
/// decides the documented exit code, so a wrong branch is a wrong exit code.
@Suite struct ErrorTranslationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let code: ResultCode
        let expected: MigrationError.Kind
        var testDescription: String { "\(code) -> \(expected)" }
    }

    static let writableFolderCases: [Case] = [
        Case(code: .SQLITE_BUSY, expected: .busy),
        Case(code: .SQLITE_LOCKED, expected: .busy),
        Case(code: .SQLITE_FULL, expected: .diskFull),
        // An I/O error in a folder that can be written is the disk's fault (74),
        // not a read-only folder (65): the case the `where` clause used to swallow.
        Case(code: .SQLITE_IOERR, expected: .diskFull),
        Case(code: .SQLITE_IOERR_WRITE, expected: .diskFull),
        Case(code: .SQLITE_IOERR_FSYNC, expected: .diskFull),
        Case(code: .SQLITE_CANTOPEN, expected: .diskFull),
        Case(code: .SQLITE_READONLY, expected: .unusableInput),
        Case(code: .SQLITE_PERM, expected: .unusableInput),
        Case(code: .SQLITE_NOTADB, expected: .unusableInput),
        Case(code: .SQLITE_CORRUPT, expected: .unusableInput),
        Case(code: .SQLITE_MISMATCH, expected: .internalFailure),
    ]

    @Test(arguments: writableFolderCases)
    func aSQLiteErrorInAWritableFolderMapsToItsKind(_ item: Case) throws {
        let directory = try TemporaryDirectory("translate")
        let error = MigrationError.wrapping(DatabaseError(resultCode: item.code, message: "test"),
                                            path: directory.file("deployer.db"), doing: "testing")
        #expect(error.kind == item.expected, "\(error.message)")
    }

    /// The only folder root cannot write is one on a read-only mount; /proc/sys/kernel
    /// refuses new files on every Linux, and is writable nowhere else.
    static let readOnlyFolder: String? = {
        let candidate = "/proc/sys/kernel"
        return FileManager.default.fileExists(atPath: candidate) && !FileManager.default.isWritableFile(atPath: candidate) ? candidate : nil
    }()

    @Test(.enabled(if: readOnlyFolder != nil, "needs a folder this user cannot write"),
          arguments: [ResultCode.SQLITE_IOERR, .SQLITE_CANTOPEN])
    func anOpenOrIOErrorInAReadOnlyFolderNamesTheFolder(_ code: ResultCode) throws {
        let path = (Self.readOnlyFolder ?? "/") + "/deployer.db"
        let error = MigrationError.wrapping(DatabaseError(resultCode: code, message: "test"), path: path, doing: "testing")
        #expect(error.kind == .unusableInput)
        #expect(error.message.contains("read-only"))
    }

    @Test func migrationErrorsPassThroughUnchanged() {
        let original = MigrationError(.locked, "held")
        let error = MigrationError.wrapping(original, path: "/tmp/x.db", doing: "testing")
        #expect(error.kind == .busy && error.message == "held")
    }
}

/// The file plumbing's errors reach a MigrationKit caller as ``MigrationError``s
/// with the same code: a library user matches on one error type.
@Suite struct FileErrorTranslationTests {
    @Test(arguments: SQLiteFileError.Code.allCases)
    func everyFileCodeBecomesTheMigrationCodeOfTheSameName(_ code: SQLiteFileError.Code) {
        let error = MigrationError(SQLiteFileError(code, "test", path: "/tmp/x.db"))
        #expect(error.code.name == code.rawValue)
        #expect(error.path == "/tmp/x.db" && error.message == "test")
        #expect(error.kind != .internalFailure || code == .unexpectedSQLiteError)
    }

    /// Each public entry point opens the file through the plumbing; a missing file
    /// must come out as MigrationError `noSuchDatabase`, not as the plumbing's type.
    @Test func everyEntryPointThrowsAMigrationErrorForAMissingFile() throws {
        let directory = try TemporaryDirectory("entry-points")
        let missing = directory.file("typo.db")
        let migrator = Fixtures.migrator
        var options = MigrationOptions()
        options.parameters = ["default_network": "main"]
        let calls: [(String, () throws -> Void)] = [
            ("status", { _ = try migrator.status(path: missing) }),
            ("plan", { _ = try migrator.plan(path: missing) }),
            ("verify", { _ = try migrator.verify(path: missing) }),
            ("migrate", { _ = try migrator.migrate(path: missing, options: options) }),
            ("dryRun", { _ = try migrator.dryRun(path: missing, options: options) }),
            ("backup", { _ = try migrator.backup(path: missing, to: directory.file("b.backup")) }),
            ("restore", { _ = try migrator.restore(path: missing, from: directory.file("nothing.backup"),
                                                   safetyBackupDirectory: nil, takesSafetyBackup: false) }),
        ]
        for (name, call) in calls {
            let error = #expect(throws: MigrationError.self, "\(name)") { try call() }
            #expect(error?.code == .noSuchDatabase, "\(name): \(String(describing: error))")
        }
        let created = #expect(throws: MigrationError.self) {
            try migrator.createDatabase(path: directory.file("no-such-folder/new.db"))
        }
        #expect(created?.code == .cannotCreate)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }
}

/// A SQLite error met after the file opened (a lock, corruption, I/O) keeps its
/// code through an entry point: it once came out as internalFailure (exit 1).
@Suite struct EntryPointSQLiteErrorTests {
    @Test(arguments: [(ResultCode.SQLITE_BUSY, MigrationError.Code.locked), (.SQLITE_CORRUPT, .notADatabase),
                      (.SQLITE_FULL, .outOfSpace), (.SQLITE_MISMATCH, .unexpectedSQLiteError)])
    func aSQLiteErrorInsideAnEntryPointKeepsItsCode(_ code: ResultCode, _ expected: MigrationError.Code) throws {
        let directory = try TemporaryDirectory("entry-sqlite")
        let path = directory.file("deployer.db")
        let error = #expect(throws: MigrationError.self) {
            try MigrationError.translatingFileErrors(path: path, doing: "testing") { () throws -> Int in
                throw DatabaseError(resultCode: code, message: "test")
            }
        }
        #expect(error?.code == expected)
        #expect(error?.path == path && error?.underlying?.resultCode == code)
    }

    @Test func aVersionTheCatalogLacksHasNoReferenceSchema() {
        let error = #expect(throws: MigrationError.self) { _ = try Fixtures.migrator.referenceDatabase(version: 99) }
        #expect(error?.code == .noSuchVersion)
    }
}
