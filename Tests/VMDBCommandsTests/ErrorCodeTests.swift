import Foundation
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
        "permissionDenied": 65, "serverUnreachable": 69,
        "unexpectedSQLiteError": 1, "unexpectedFailure": 1,
    ]

    @Test(arguments: MigrationError.Code.all)
    func eachCodeHasItsDocumentedExitCode(_ code: MigrationError.Code) {
        #expect(Self.documented[code.name] == MigrationError(code, "x").exitCode, "\(code.name)")
        #expect(MigrationError.Kind(rawValue: code.name) == nil, "\(code.name) is spelled like a kind")
    }

    /// `Code.all` is kept by hand: every code declared in MigrationError.swift must be in it,
    /// or the two tests above would never see a new one.
    @Test func everyDeclaredCodeIsInAll() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/MigrationKit/Support/MigrationError.swift")
        let text = try String(contentsOf: source, encoding: .utf8)
        let declared = text.matches(of: try Regex(#"static let (\w+) = Code\(""#)).compactMap { $0.output[1].substring.map(String.init) }
        #expect(declared.count > 20, "the declarations were not found in \(source.path)")
        #expect(Set(declared) == Set(MigrationError.Code.all.map(\.name)), "declared but not in Code.all: \(Set(declared).subtracting(MigrationError.Code.all.map(\.name)))")
    }

    @Test func everyDocumentedCodeExistsOnce() {
        let names = MigrationError.Code.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(names) == Set(Self.documented.keys))
    }
}
