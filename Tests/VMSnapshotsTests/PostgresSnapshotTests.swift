import Foundation
import MigrationKit
import MigrationKitPostgres
import ShippedMigrations
import Testing
import VMDBTestSupport
@testable import VMSnapshots

/// Every shipped snapshot migrated on PostgreSQL ends as on SQLite, table by table (content hashes
/// equal across engines), or is refused by name where PostgreSQL cannot hold a value as it is.
@Suite struct PostgresSnapshotTests {
    static func verifier() throws -> PostgresSnapshotVerifier {
        PostgresSnapshotVerifier(
            sqlite: SnapshotTestSupport.verifier,
            postgres: PostgresMigrator(catalog: ShippedMigrations.postgresCatalog, toolVersion: Fixtures.toolVersion,
                                       configuration: ShippedMigrations.configuration),
            serverURL: try PostgresTestServer.url())
    }

    /// The one snapshot PostgreSQL cannot take as it is: its text holds a NUL character.
    static let holdsANUL = "v2-text-stress"

    @Test(arguments: ShippedSnapshots.names.filter { $0 != holdsANUL })
    func migratesOnPostgreSQLAsOnSQLite(_ name: String) async throws {
        let result = try await Self.verifier().verify(folder: SnapshotTestSupport.folder(name))
        #expect(result.outcome == .passed, "\(name): \(result.differences.joined(separator: "\n"))")
        #expect(result.finalVersion == ShippedMigrations.postgresCatalog.latestVersion)
        let (expectation, _) = try SnapshotVerifier.read(folder: SnapshotTestSupport.folder(name))
        #expect(result.rows == expectation.result.tables.values.map(\.rows).reduce(0, +) - Self.operatorRows(expectation), "\(name)")
    }

    /// Rows of the operator's own tables, which have no PostgreSQL form and stay behind.
    static func operatorRows(_ expectation: SnapshotExpectation) -> Int {
        expectation.result.operatorAdditions.compactMap { addition -> Int? in
            guard addition.hasPrefix("table ") else { return nil }
            return expectation.result.tables[String(addition.dropFirst("table ".count))]?.rows
        }.reduce(0, +)
    }

    @Test func anOperatorsTablesAndColumnsAreNamedAsNotCarried() async throws {
        let result = try await Self.verifier().verify(folder: SnapshotTestSupport.folder("v2-wal-operator"))
        #expect(result.passed, "\(result.differences)")
        for addition in ["table vm_audit (not carried to PostgreSQL)", "table vm_backups (not carried to PostgreSQL)",
                         "column vms.owner_email (not carried to PostgreSQL)"] {
            #expect(result.operatorAdditions.contains(addition), "\(result.operatorAdditions)")
        }
    }

    /// Not a migration's failure: the data cannot exist on PostgreSQL, said by table, column and row.
    @Test func aTextHoldingANULIsNotPortableByTableColumnAndRow() async throws {
        let result = try await Self.verifier().verify(folder: SnapshotTestSupport.folder(Self.holdsANUL))
        #expect(result.outcome == .notPortable)
        let suite = SnapshotSuiteReport(directory: "d", snapshots: [result])
        #expect(suite.allPassed && suite.failedCount == 0 && suite.passedCount == 0)
        #expect(result.differences.count == 1)
        #expect(result.differences.first?.contains("vms.name, rowid 10: a TEXT holding a NUL character") == true, "\(result.differences)")
    }

    /// A migrated table that differs between the engines is caught: here the PostgreSQL form of v3
    /// changes one name, and its own verification counts rows only.
    @Test func aPostgreSQLMigrationThatLosesAValueFails() async throws {
        let files = ShippedMigrations.postgresCatalog.scripts.map { script in
            (name: script.fileName, text: script.version == 3 ? script.text + "\n--! step\nUPDATE vms SET name = name || '!' WHERE id = (SELECT min(id) FROM vms);\n" : script.text)
        }
        var altered = PostgresMigrator(catalog: try MigrationCatalog(files: files), toolVersion: Fixtures.toolVersion,
                                       configuration: ShippedMigrations.configuration)
        altered.verification = .counts
        let verifier = PostgresSnapshotVerifier(sqlite: SnapshotTestSupport.verifier, postgres: altered, serverURL: try PostgresTestServer.url())
        let result = await verifier.verify(folder: SnapshotTestSupport.folder("v2-collision"))
        #expect(result.outcome == .failed)
        #expect(result.differences.contains { $0.hasPrefix("table vms: content differs") }, "\(result.differences)")
    }
}
