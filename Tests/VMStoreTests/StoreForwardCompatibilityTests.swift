import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// A store built for the latest version opens a later database when every migration since
/// promised to keep it working, and refuses one that did not, naming it.
@Suite struct StoreForwardCompatibilityTests {
    typealias File = (name: String, text: String)
    static let additive: File = (name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext())
    static let silent: File = (name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext(declaresCompatibility: false))
    static let breaking: File = (name: FutureMigrations.fileName("drop_metadata"), text: FutureMigrations.breakingNext)

    @Test func aStoreOpensTheNextVersionThatKeepsItWorkingAndReadsAndWrites() throws {
        let directory = try TemporaryDirectory("forward")
        let path = try FutureMigrations.database(migratedTo: [Self.additive], in: directory)
        let store = try VMStore(path: path)
        defer { try? store.close() }
        #expect(VMStore.schemaVersion == 4)
        #expect(store.databaseSchemaVersion == 5)
        #expect(try store.list().map(\.identity) == [.id("main", "005o"), .id("qa", "005o")])
        #expect(storeErrorCode { _ = try store.vm(.ref("005o")) } == .ambiguous)
        try store.provision(.sample("test", "0102"))
        try store.recordStatus(.stopped, for: .ref("0102", "test"))
        try store.delete(.ref("005o", "qa"))
        // v5's column is there, and v4's writes leave it to its default.
        let regions = try DatabaseQueue(path: path).read {
            try Row.fetchAll($0, sql: "SELECT network, region FROM vms ORDER BY network").map { row -> [String?] in [row[0], row[1]] }
        }
        #expect(regions == [["main", nil], ["test", nil]])
    }

    @Test func theDeployersOwnConnectionsGetTheSameRule() throws {
        let directory = try TemporaryDirectory("forward")
        let compatible = try FutureMigrations.database(migratedTo: [Self.additive], in: directory, name: "ok.db")
        let queue = try DatabaseQueue(path: compatible)
        #expect(try VMStore(writer: queue).databaseSchemaVersion == 5)
        let refused = try FutureMigrations.database(migratedTo: [Self.silent], in: directory, name: "silent.db")
        #expect(storeErrorCode { _ = try VMStore(writer: try DatabasePool(path: refused)) } == .databaseNewer)
    }

    @Test(arguments: [("silent", silent), ("breaking", breaking)])
    func aNextVersionThatMakesNoPromiseIsRefusedNamingItAndLeftAsItWas(label: String, file: File) throws {
        let directory = try TemporaryDirectory("forward")
        let path = try FutureMigrations.database(migratedTo: [file], in: directory)
        let before = try Fixtures.fileHash(path)
        #expect {
            try VMStore(path: path)
        } throws: { error in
            guard let error = error as? StoreError, error.code == .databaseNewer else { return false }
            return error.versions?.found == 5 && error.versions?.expected == 4
                && error.description.contains("migration 5") && error.description.contains("does not declare")
                && error.description.contains("version 5 or later")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func everyMigrationSinceMustKeepThePromise() throws {
        let directory = try TemporaryDirectory("forward")
        // v6 keeps only v5 stores working: a v4 store is refused, naming v6.
        let narrowed = try FutureMigrations.database(
            migratedTo: [Self.additive, (name: FutureMigrations.fileName("region_index", version: 6), text: FutureMigrations.additiveAfterNext(from: 5))],
            in: directory, name: "narrowed.db")
        #expect {
            try VMStore(path: narrowed)
        } throws: { error in
            (error as? StoreError)?.code == .databaseNewer && "\(error)".contains("migration 6 (region_index) keeps stores working only from version 5")
        }
        // v6 keeps v3 stores working, so v4 too: opened at 6. An older promise (from 2) covers v4 as well.
        let kept = try FutureMigrations.database(
            migratedTo: [(name: FutureMigrations.fileName("region"), text: FutureMigrations.additiveNext(from: 2)),
                         (name: FutureMigrations.fileName("region_index", version: 6), text: FutureMigrations.additiveAfterNext(from: 3))],
            in: directory, name: "kept.db")
        let store = try VMStore(path: kept)
        #expect(store.databaseSchemaVersion == 6)
        #expect(try store.count() == 2)
        try store.close()
    }

    @Test func aHandWrittenRowWithoutThePromiseIsRefusedAsBefore() throws {
        let directory = try TemporaryDirectory("forward")
        let path = try FutureMigrations.database(migratedTo: [Self.additive], in: directory)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind)
                VALUES (6, 'future', 'x', '2027-01-01T00:00:00Z', 0, 0, '9.9.9', 'applied')
                """)
        }
        #expect(storeErrorCode { _ = try VMStore(path: path) } == .databaseNewer)
    }
}
