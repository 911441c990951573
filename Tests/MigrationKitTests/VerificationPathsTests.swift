import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

/// Offline and online verify through one path (`VerificationChecks`): the same
/// migration on the same file fails with the same findings, in the same words,
/// whichever way it runs (issue 21, "one path for what offline and online share").
@Suite struct VerificationPathsTests {
    /// v3 with one change to its text.
    private static func alteredV3(_ change: (String) -> String) throws -> Migrator {
        let files = ShippedMigrations.catalog.scripts.map { script in
            (name: script.fileName, text: script.version == 3 ? change(script.text) : script.text)
        }
        return Migrator(catalog: try MigrationCatalog(files: files), toolVersion: Fixtures.toolVersion, configuration: ShippedMigrations.configuration)
    }

    /// The failed verification of migrating a fresh copy of a five-VM v2 file, offline or online.
    private static func failedVerification(_ migrator: Migrator, online: Bool) throws -> VerificationRecord? {
        let directory = try TemporaryDirectory("verification-paths")
        let (path, _) = try OnlineConvergenceTests.databases(vms: 5, in: directory)
        var settings = OnlineSettings()
        settings.pause = 0
        let error = #expect(throws: MigrationError.self) {
            _ = try migrator.migrate(path: path, options: OnlineConvergenceTests.options(online: online ? settings : nil))
        }
        #expect(error?.code == .failedVerification, "\(error.map { "\($0)" } ?? "no error")")
        // Nothing half-applied: still v2, no online leftovers.
        let (version, leftovers) = try DatabaseQueue(path: path).read { db in
            (try Int.fetchOne(db, sql: "SELECT max(version) FROM vmdb_migrations") ?? 0,
             try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'vmdb_online%' OR name LIKE 'vmdb_new%'"))
        }
        #expect(version == 2 && leftovers.isEmpty, "v\(version), left: \(leftovers)")
        return error?.verification
    }

    @Test func aBrokenInvariantIsTheSameFindingOfflineAndOnline() throws {
        let migrator = try Self.alteredV3 { $0 + "\n--! invariant no VM is named vm-vm1: SELECT count(*) FROM vms WHERE name = 'vm-vm1'\n" }
        let offline = try Self.failedVerification(migrator, online: false)
        let online = try Self.failedVerification(migrator, online: true)
        #expect(offline?.failures == ["invariant \"no VM is named vm-vm1\" broken by 1 row(s)"], "\(offline?.failures ?? [])")
        #expect(online?.failures == offline?.failures, "online: \(online?.failures ?? []), offline: \(offline?.failures ?? [])")
        #expect(online?.invariants == offline?.invariants)
    }

    @Test func aChangedColumnIsTheSameFindingOfflineAndOnline() throws {
        // The copy writes a value the declared expectation does not give: the content hash differs.
        let migrator = try Self.alteredV3 {
            $0.replacingOccurrences(of: "--! expect vms.origin: 'provision'", with: "--! expect vms.origin: 'repair'")
        }
        let offline = try Self.failedVerification(migrator, online: false)
        let online = try Self.failedVerification(migrator, online: true)
        let contentChanged = { (failures: [String]) in failures.filter { $0.hasPrefix("table vms: content of columns") } }
        #expect(contentChanged(offline?.failures ?? []).count == 1, "\(offline?.failures ?? [])")
        // Online says where it looked; the finding itself, hashes included, is the offline one.
        #expect(online?.failures == offline?.failures.map { $0 + " (on a snapshot, the rows changed since set aside)" },
                "online: \(online?.failures ?? []), offline: \(offline?.failures ?? [])")
    }
}
