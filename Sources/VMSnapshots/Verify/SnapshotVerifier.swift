import Foundation
import MigrationKit

/// Loads snapshots into temporary databases, migrates them with full
/// verification, and compares each with its expected result.
public struct SnapshotVerifier: Sendable {
    /// The expected result's file name in a snapshot folder.
    public static let expectedFileName = "expected.json"

    public let migrator: Migrator

    /// - Parameter migrator: the migrations to check; tests pass altered catalogs here.
    public init(migrator: Migrator) {
        self.migrator = migrator
    }

    /// Verifies every snapshot folder (one holding `expected.json`) in `directory`, by name.
    /// - Throws: `.unusableInput` when the folder does not exist or holds no snapshot.
    public func verifyAll(in directory: String) throws -> SnapshotSuiteReport {
        let folders = try Self.snapshotFolders(in: directory)
        return SnapshotSuiteReport(directory: directory, snapshots: folders.map { verify(folder: $0) })
    }

    /// The snapshot folders in `directory`, sorted by name.
    ///
    /// - Throws: ``MigrationError`` `unusableFile`: no such folder, or it holds no snapshot.
    public static func snapshotFolders(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MigrationError(.unusableFile, "no snapshot folder at \(directory): give the folder that holds the snapshots (default: snapshots/ in the current directory)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        let folders = names.map { (directory as NSString).appendingPathComponent($0) }.filter {
            FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent(expectedFileName))
        }
        guard !folders.isEmpty else {
            throw MigrationError(.unusableFile, "\(directory) holds no snapshot (a folder with \(expectedFileName) and its dump); `vmdb snapshots capture` makes one")
        }
        return folders
    }

    /// Verifies the snapshot in `folder`; never throws, a problem is a failed outcome.
    public func verify(folder: String) -> SnapshotVerification {
        let name = (folder as NSString).lastPathComponent
        let expectation: SnapshotExpectation
        let dump: String
        do {
            (expectation, dump) = try Self.read(folder: folder)
        } catch {
            return SnapshotVerification(name: name, path: folder, outcome: .unusable, description: nil, sourceVersion: nil,
                                        isManaged: nil, finalVersion: nil, rows: nil, operatorAdditions: [],
                                        differences: ["\(error)"])
        }
        let metadata = expectation.metadata
        var differences: [String] = []
        var actual: SnapshotResult?
        do {
            let outcome = try migrate(dump: dump, metadata: metadata)
            actual = outcome.result
            differences += outcome.problems
            differences += SnapshotDiff.differences(expected: expectation.result, actual: outcome.result)
        } catch let error as MigrationError {
            differences.append("migration refused or failed (\(error.kind.rawValue)): \(error.message)")
            differences += (error.verification?.failures ?? []).map { "verification: \($0)" }
        } catch {
            differences.append("migration failed: \(error)")
        }
        return SnapshotVerification(
            name: name, path: folder, outcome: differences.isEmpty ? .passed : .failed,
            description: metadata.description, sourceVersion: metadata.sourceVersion, isManaged: metadata.isManaged,
            finalVersion: actual?.version, rows: actual.map { $0.tables.values.map(\.rows).reduce(0, +) },
            operatorAdditions: actual?.operatorAdditions ?? [], differences: differences)
    }

    /// The expected result and dump text of the snapshot in `folder`.
    ///
    /// - Throws: ``MigrationError`` `unusableFile`: the expected result or the dump is missing, unreadable or of another format.
    public static func read(folder: String) throws -> (SnapshotExpectation, String) {
        let expectedPath = (folder as NSString).appendingPathComponent(expectedFileName)
        let expectation: SnapshotExpectation
        do {
            expectation = try JSONDecoder().decode(SnapshotExpectation.self, from: Data(contentsOf: URL(fileURLWithPath: expectedPath)))
        } catch {
            throw MigrationError(.unusableFile, "\(expectedPath) is not a readable expected result (\(error)); regenerate it or capture the snapshot again")
        }
        guard expectation.format == SnapshotExpectation.currentFormat else {
            let older = expectation.format < SnapshotExpectation.currentFormat
                ? " (an older vmdb wrote it; its content hashes are computed otherwise): capture the snapshot again from its database, or load its dump and capture that"
                : ": a newer vmdb wrote it; verify it with that vmdb"
            throw MigrationError(.unusableFile, "\(expectedPath) has format \(expectation.format); this vmdb reads format \(SnapshotExpectation.currentFormat)" + older)
        }
        let dumpName = expectation.metadata.dump
        guard !dumpName.contains("/"), !dumpName.hasPrefix(".") else {
            throw MigrationError(.unusableFile, "\(expectedPath) names its dump \(dumpName): it must be a file name beside expected.json")
        }
        let dumpPath = (folder as NSString).appendingPathComponent(dumpName)
        guard let data = FileManager.default.contents(atPath: dumpPath), let dump = String(data: data, encoding: .utf8) else {
            throw MigrationError(.unusableFile, "\(dumpPath) is missing or not UTF-8 text: a snapshot is a text SQL dump beside its expected.json")
        }
        return (expectation, dump)
    }

    /// What migrating a dump produced, and any check it failed on the way.
    struct Outcome {
        let result: SnapshotResult
        /// Mismatches with the metadata and findings of `verify` (drift from a fresh install, integrity, foreign keys).
        let problems: [String]
    }

    /// Loads `dump` into a temporary database, migrates it to the latest version
    /// with full verification, and reads the result; the temporary files are removed.
    func migrate(dump: String, metadata: SnapshotMetadata) throws -> Outcome {
        let folder = try SnapshotFiles.temporaryFolder("snapshot")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = (folder as NSString).appendingPathComponent("snapshot.db")
        do {
            try SnapshotFiles.load(dump: dump, to: path, journalMode: metadata.journalMode)
        } catch {
            throw MigrationError(.unusableFile, "the dump does not load into SQLite: \(error)")
        }
        var problems: [String] = []
        let before = try migrator.status(path: path)
        if before.currentVersion != metadata.sourceVersion || before.isManaged != metadata.isManaged {
            problems.append("metadata: expected a \(Self.describe(metadata.sourceVersion, metadata.isManaged)) database, the dump is \(Self.describe(before.currentVersion, before.isManaged))")
        }
        var options = MigrationOptions()
        options.verification = .full
        options.takesBackup = false
        if let network = metadata.defaultNetwork { options.parameters = ["default_network": network] }
        let run = try migrator.migrate(path: path, options: options)
        let check = try migrator.verify(path: path)
        problems += check.drift.map { "schema drift from a fresh install at version \(check.version): \($0)" }
        if check.integrity != "ok" { problems.append("integrity_check: \(check.integrity)") }
        problems += check.foreignKeyViolations.map { "foreign key violation: \($0)" }
        problems += check.historyProblems.map { "history: \($0)" }
        return Outcome(result: try SnapshotResult.read(path: path, run: run, verify: check, bookkeepingPrefix: migrator.configuration.bookkeepingPrefix), problems: problems)
    }

    static func describe(_ version: Int, _ managed: Bool) -> String {
        "v\(version) \(managed ? "managed" : "unmanaged")"
    }
}
