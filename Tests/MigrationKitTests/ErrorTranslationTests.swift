import Foundation
import GRDB
import MigrationKit
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
        let original = MigrationError(.busy, "held")
        let error = MigrationError.wrapping(original, path: "/tmp/x.db", doing: "testing")
        #expect(error.kind == .busy && error.message == "held")
    }
}
