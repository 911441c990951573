import MigrationKit
import Testing
@testable import VMDBCommands

/// One error shape: every MigrationKit code has the exit code CLI.md documents for its
/// kind, and no code is spelled like a kind (a code and a kind with the same words in
/// another order let `MigrationError(.verificationFailed, …)` compile to the wrong code).
@Suite struct ErrorCodeTests {
    /// The documented exit code of every code, by name: a new code must be added here.
    static let documented: [String: Int32] = [
        "noSuchDatabase": 65, "notADatabase": 65, "readOnlyFile": 65, "readOnlyFolder": 65, "fileExists": 64,
        "cannotCreate": 65, "missingParameter": 64, "malformedMigration": 1, "noSuchVersion": 64, "versionBehind": 64,
        "unreadableSchema": 65, "schemaConflict": 65, "rowsNotCarried": 65, "unknownSchema": 65, "unusableFile": 65,
        "emptySchema": 65, "newerDatabase": 4, "inconsistentHistory": 5, "locked": 75, "migratorRunning": 75,
        "concurrentMigration": 75, "outOfSpace": 74, "ioError": 74, "noTemporaryFolder": 74, "failedVerification": 2,
        "dataConflict": 2, "onlineNotPossible": 65, "onlineNeedsWAL": 65, "cutOverTimedOut": 75, "onlineLagging": 75, "schemaChangedDuringOnline": 65,
        "unexpectedSQLiteError": 1, "unexpectedFailure": 1,
    ]

    @Test(arguments: MigrationError.Code.all)
    func eachCodeHasItsDocumentedExitCode(_ code: MigrationError.Code) {
        #expect(Self.documented[code.name] == MigrationError(code, "x").exitCode, "\(code.name)")
        #expect(MigrationError.Kind(rawValue: code.name) == nil, "\(code.name) is spelled like a kind")
    }

    @Test func everyDocumentedCodeExistsOnce() {
        let names = MigrationError.Code.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(names) == Set(Self.documented.keys))
    }
}
