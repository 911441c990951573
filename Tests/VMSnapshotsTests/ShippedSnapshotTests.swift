import Foundation
import Testing
import VMDBTestSupport
@testable import VMSnapshots

/// Every shipped snapshot migrates to its expected result, and the committed
/// files are exactly what their generator writes.
@Suite struct ShippedSnapshotTests {
    @Test(arguments: ShippedSnapshots.names)
    func verifies(_ name: String) throws {
        let result = SnapshotTestSupport.verifier.verify(folder: SnapshotTestSupport.folder(name))
        #expect(result.outcome == .passed, "\(name): \(result.differences.joined(separator: "\n"))")
        #expect(result.finalVersion == Fixtures.migrator.catalog.latestVersion)
    }

    @Test func theFolderHoldsExactlyTheShippedSnapshots() throws {
        let folders = try SnapshotVerifier.snapshotFolders(in: SnapshotTestSupport.snapshotsFolder).map { ($0 as NSString).lastPathComponent }
        #expect(folders == ShippedSnapshots.names.sorted())
    }

    @Test func coversEveryShapeTheIssueNames() throws {
        let metadata = ShippedSnapshots.specs.map(\.metadata)
        #expect(Set(metadata.map(\.sourceVersion)) == [1, 2, 3])
        #expect(metadata.contains { $0.isManaged } && metadata.contains { !$0.isManaged })
        #expect(metadata.contains { $0.journalMode == "wal" } && metadata.contains { $0.journalMode == "delete" })
        #expect(metadata.contains { $0.sourceVersion == 2 && $0.defaultNetwork != nil }, "a v2 snapshot with rows whose network is NULL or empty")
        // The repository stays small.
        var bytes = 0
        for name in ShippedSnapshots.names {
            let folder = SnapshotTestSupport.folder(name)
            for file in try FileManager.default.contentsOfDirectory(atPath: folder) {
                bytes += (try FileManager.default.attributesOfItem(atPath: (folder as NSString).appendingPathComponent(file))[.size] as? Int) ?? 0
            }
        }
        #expect(bytes < 2_000_000, "snapshots/ holds \(bytes) bytes")
    }

    @Test func operatorAdditionsAreKeptAndListedNotDrift() throws {
        let (expectation, _) = try SnapshotVerifier.read(folder: SnapshotTestSupport.folder("v2-wal-operator"))
        let additions = Set(expectation.result.operatorAdditions)
        for object in ["index vms_name_lookup", "trigger vms_status_audit", "view running_vms", "table vm_backups", "table vm_audit"] {
            #expect(additions.contains(object), "\(object) in \(additions)")
        }
        #expect(additions.contains { $0.hasPrefix("column vms.owner_email") })
        // Cascading children and audit rows all survived the rebuild of vms.
        let migration3 = try #require(expectation.result.migrations.first { $0.version == 3 })
        for table in ["vm_backups", "vm_audit", "vms", "vm_events"] {
            let census = try #require(migration3.tables[table])
            #expect(census.rowsBefore == census.rowsAfter && census.rowsBefore > 0, "\(table)")
        }
    }

    @Test func theCommittedFilesAreWhatTheGeneratorWrites() throws {
        let directory = try TemporaryDirectory("regenerate")
        // Hand-written dumps are read from their folder: put them in place first.
        for spec in ShippedSnapshots.specs where spec.build == nil {
            let folder = directory.file(spec.name)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: (SnapshotTestSupport.folder(spec.name) as NSString).appendingPathComponent(spec.metadata.dump),
                                             toPath: (folder as NSString).appendingPathComponent(spec.metadata.dump))
        }
        _ = try ShippedSnapshots.regenerate(in: directory.path, migrator: Fixtures.migrator)
        for spec in ShippedSnapshots.specs {
            for file in [spec.metadata.dump, SnapshotVerifier.expectedFileName] {
                let committed = try String(contentsOfFile: (SnapshotTestSupport.folder(spec.name) as NSString).appendingPathComponent(file), encoding: .utf8)
                let generated = try String(contentsOfFile: (directory.file(spec.name) as NSString).appendingPathComponent(file), encoding: .utf8)
                #expect(committed == generated, "snapshots/\(spec.name)/\(file) differs from what its generator writes: run scripts/regenerate-snapshots and review the diff")
            }
        }
    }

    /// `VMDB_REGENERATE_SNAPSHOTS=1 swift test --filter regeneratesTheRepository` rewrites snapshots/ (what scripts/regenerate-snapshots runs).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VMDB_REGENERATE_SNAPSHOTS"] == "1"))
    func regeneratesTheRepository() throws {
        _ = try ShippedSnapshots.regenerate(in: SnapshotTestSupport.snapshotsFolder, migrator: Fixtures.migrator)
    }
}
