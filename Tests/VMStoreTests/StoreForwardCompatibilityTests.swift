import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// A store built for v3 opens a later database when every migration since
/// promised to keep it working, and refuses one that did not, naming it.
@Suite struct StoreForwardCompatibilityTests {
    typealias File = (name: String, text: String)
    static let additive: File = (name: "0004_region.sql", text: FutureMigrations.additiveV4())
    static let silent: File = (name: "0004_region.sql", text: FutureMigrations.additiveV4(declaresCompatibility: false))
    static let breaking: File = (name: "0004_drop_metadata.sql", text: FutureMigrations.breakingV4)

    @Test func aV3StoreOpensAV4DatabaseThatKeepsItWorkingAndReadsAndWrites() throws {
        let directory = try TemporaryDirectory("forward")
        let path = try FutureMigrations.database(migratedTo: [Self.additive], in: directory)
        let store = try VMStore(path: path)
        defer { try? store.close() }
        #expect(VMStore.schemaVersion == 3)
        #expect(store.databaseSchemaVersion == 4)
        #expect(try store.list().map(\.identity) == [.id("main", "005o"), .id("qa", "005o")])
        #expect(storeErrorCode { _ = try store.vm(.ref("005o")) } == .ambiguous)
        try store.provision(.sample("test", "0102"))
        try store.recordStatus(.stopped, for: .ref("0102", "test"))
        try store.delete(.ref("005o", "qa"))
        // v4's column is there, and v3's writes leave it to its default.
        let regions = try DatabaseQueue(path: path).read {
            try Row.fetchAll($0, sql: "SELECT network, region FROM vms ORDER BY network").map { row -> [String?] in [row[0], row[1]] }
        }
        #expect(regions == [["main", nil], ["test", nil]])
    }

    @Test func theDeployersOwnConnectionsGetTheSameRule() throws {
        let directory = try TemporaryDirectory("forward")
        let compatible = try FutureMigrations.database(migratedTo: [Self.additive], in: directory, name: "ok.db")
        let queue = try DatabaseQueue(path: compatible)
        #expect(try VMStore(writer: queue).databaseSchemaVersion == 4)
        let refused = try FutureMigrations.database(migratedTo: [Self.silent], in: directory, name: "silent.db")
        #expect(storeErrorCode { _ = try VMStore(writer: try DatabasePool(path: refused)) } == .databaseNewer)
    }

    @Test(arguments: [("silent", silent), ("breaking", breaking)])
    func aV4ThatMakesNoPromiseIsRefusedNamingItAndLeftAsItWas(label: String, file: File) throws {
        let directory = try TemporaryDirectory("forward")
        let path = try FutureMigrations.database(migratedTo: [file], in: directory)
        let before = try Fixtures.fileHash(path)
        #expect {
            try VMStore(path: path)
        } throws: { error in
            guard let error = error as? StoreError, error.code == .databaseNewer else { return false }
            return error.versions?.found == 4 && error.versions?.expected == 3
                && error.description.contains("migration 4") && error.description.contains("does not declare")
                && error.description.contains("version 4 or later")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }

    @Test func everyMigrationSinceMustKeepThePromise() throws {
        let directory = try TemporaryDirectory("forward")
        // v5 keeps only v4 stores working: a v3 store is refused, naming v5.
        let narrowed = try FutureMigrations.database(
            migratedTo: [Self.additive, (name: "0005_region_index.sql", text: FutureMigrations.additiveV5(from: 4))], in: directory, name: "narrowed.db")
        #expect {
            try VMStore(path: narrowed)
        } throws: { error in
            (error as? StoreError)?.code == .databaseNewer && "\(error)".contains("migration 5 (region_index) keeps stores working only from version 4")
        }
        // v5 keeps v3 stores working too: opened at 5. An older promise (from 2) covers v3 as well.
        let kept = try FutureMigrations.database(
            migratedTo: [(name: "0004_region.sql", text: FutureMigrations.additiveV4(from: 2)),
                         (name: "0005_region_index.sql", text: FutureMigrations.additiveV5(from: 3))], in: directory, name: "kept.db")
        let store = try VMStore(path: kept)
        #expect(store.databaseSchemaVersion == 5)
        #expect(try store.count() == 2)
        try store.close()
    }

    @Test func aHandWrittenRowWithoutThePromiseIsRefusedAsBefore() throws {
        let directory = try TemporaryDirectory("forward")
        let path = try FutureMigrations.database(migratedTo: [Self.additive], in: directory)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind)
                VALUES (5, 'future', 'x', '2027-01-01T00:00:00Z', 0, 0, '9.9.9', 'applied')
                """)
        }
        #expect(storeErrorCode { _ = try VMStore(path: path) } == .databaseNewer)
    }
}
