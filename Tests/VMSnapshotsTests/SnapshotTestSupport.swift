import Foundation
import MigrationKit
import ShippedMigrations
import VMDBTestSupport
@testable import VMSnapshots

/// Paths and helpers shared by the snapshot tests.
enum SnapshotTestSupport {
    static let snapshotsFolder = (Fixtures.repositoryRoot as NSString).appendingPathComponent("snapshots")

    static func folder(_ name: String) -> String {
        (snapshotsFolder as NSString).appendingPathComponent(name)
    }

    static var verifier: SnapshotVerifier { SnapshotVerifier(migrator: Fixtures.migrator) }

    /// A migrator whose migration `version` is the shipped text changed by `change`.
    static func alteredMigrator(version: Int, _ change: (String) -> String) throws -> Migrator {
        let files = ShippedMigrations.catalog.scripts.map { script in
            (name: script.fileName, text: script.version == version ? change(script.text) : script.text)
        }
        return Migrator(catalog: try MigrationCatalog(files: files), toolVersion: Fixtures.toolVersion, configuration: ShippedMigrations.configuration)
    }

    /// Replaces `old` in `text`, failing loudly when it is not there (a test that changes nothing proves nothing).
    static func replacing(_ old: String, with new: String, in text: String) -> String {
        precondition(text.contains(old), "the shipped migration no longer contains: \(old)")
        return text.replacingOccurrences(of: old, with: new)
    }

    /// Loads a shipped snapshot's dump into a new database in `directory`, as the deployer had it.
    static func load(_ name: String, in directory: TemporaryDirectory) throws -> (path: String, expectation: SnapshotExpectation) {
        let (expectation, dump) = try SnapshotVerifier.read(folder: folder(name))
        let path = directory.file("\(name).db")
        try SnapshotFiles.load(dump: dump, to: path, journalMode: expectation.metadata.journalMode)
        return (path, expectation)
    }
}
