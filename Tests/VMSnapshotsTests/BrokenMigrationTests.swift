import MigrationKit
import Testing
import VMDBTestSupport
@testable import VMSnapshots

/// A migration that loses something makes `snapshots verify` fail with a
/// difference that names the cause; each case alters the shipped migration text.
@Suite struct BrokenMigrationTests {
    private func verify(_ name: String, with migrator: Migrator) -> SnapshotVerification {
        SnapshotVerifier(migrator: migrator).verify(folder: SnapshotTestSupport.folder(name))
    }

    private func expectFailure(_ result: SnapshotVerification, mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.outcome == .failed, sourceLocation: sourceLocation)
        for word in words {
            #expect(result.differences.contains { $0.contains(word) }, "no difference mentions \(word): \(result.differences)", sourceLocation: sourceLocation)
        }
    }

    @Test func aTriggerDeclaredDroppedIsMissingFromTheResult() throws {
        // MigrationKit accepts a declared drop; only the expected schema catches it.
        let migrator = try SnapshotTestSupport.alteredMigrator(version: 3) { $0 + "\n--! drops trigger vms_status_audit\n" }
        let result = verify("v2-wal-operator", with: migrator)
        expectFailure(result, mentioning: ["trigger vms_status_audit is missing", "operator addition expected, missing: trigger vms_status_audit"])
    }

    @Test func aTriggerDroppedSilentlyFailsTheMigrationsOwnCheck() throws {
        let migrator = try SnapshotTestSupport.alteredMigrator(version: 3) {
            SnapshotTestSupport.replacing("--! step\nUPDATE vms SET network", with: "--! step\nDROP TRIGGER IF EXISTS vms_status_audit;\nUPDATE vms SET network", in: $0)
        }
        let result = verify("v2-wal-operator", with: migrator)
        expectFailure(result, mentioning: ["verificationFailed", "trigger vms_status_audit existed before and is missing after"])
    }

    @Test func aLostRowIsCaughtAndNamed() throws {
        let migrator = try SnapshotTestSupport.alteredMigrator(version: 3) {
            SnapshotTestSupport.replacing("JOIN vms AS v ON v.vm_id = e.vm_id", with: "JOIN vms AS v ON v.vm_id = e.vm_id WHERE e.id <> 1", in: $0)
        }
        let result = verify("v2-collision", with: migrator)
        // The preflight measures the copy before anything starts and names the table and the count.
        expectFailure(result, mentioning: ["table vm_events has 1 row(s) that migration 3", "finds 13 of 14 rows"])
    }

    @Test func aMigrationThatMisassignsNetworksPassesItsOwnChecksButNotTheSnapshot() throws {
        // It declares what it does, so the census agrees; the per-network counts do not.
        let migrator = try SnapshotTestSupport.alteredMigrator(version: 2) {
            SnapshotTestSupport.replacing("UPDATE vms SET network = :default_network;", with: "UPDATE vms SET network = 'main';",
                in: SnapshotTestSupport.replacing("--! expect vms.network: :default_network", with: "--! expect vms.network: 'main'", in: $0))
        }
        let result = verify("v1-eight-vms", with: migrator)
        // v1-eight-vms is managed: its history's checksum of v2 is not written yet (it is at v1), so the run proceeds.
        expectFailure(result, mentioning: ["table vms, network qa: expected 8 rows, found 0", "table vms, network main: expected 0 rows, found 8", "table vms: content differs"])
    }

    @Test func aSkippedColumnDeclaredDroppedShowsInTheSchemaAndContent() throws {
        let migrator = try SnapshotTestSupport.alteredMigrator(version: 3) {
            SnapshotTestSupport.replacing("    installed_version  TEXT,\n", with: "", in: $0) + "\n--! drops column vms.installed_version\n"
        }
        let result = verify("v1-eight-vms", with: migrator)
        expectFailure(result, mentioning: ["schema: table vms differs", "table vms: content differs"])
    }

    @Test func aSkippedColumnNotDeclaredIsCarriedToTheEndAsIfAnOperatorHadAddedIt() throws {
        let migrator = try SnapshotTestSupport.alteredMigrator(version: 3) {
            SnapshotTestSupport.replacing("    installed_version  TEXT,\n", with: "", in: $0)
        }
        let result = verify("v2-collision", with: migrator)
        // A fresh install carries it the same way (v1 created it), so only the expected result sees it moved to the end.
        expectFailure(result, mentioning: ["schema: table vms differs", "carried column not expected: vms.installed_version"])
    }

    @Test func theShippedMigrationsPassWhereTheBrokenOnesFail() {
        #expect(verify("v2-wal-operator", with: Fixtures.migrator).outcome == .passed)
    }
}
