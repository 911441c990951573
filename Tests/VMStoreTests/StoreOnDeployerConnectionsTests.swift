import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// `VMStore(writer:)`: the store on the deployer's own `DatabaseQueue` or
/// `DatabasePool`, with the guarantees of opening by path.
@Suite struct StoreOnDeployerConnectionsTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case queue, pool
        var testDescription: String { self == .queue ? "a DatabaseQueue" : "a DatabasePool" }

        func open(_ path: String, configure: (inout Configuration) -> Void = { _ in }) throws -> any DatabaseWriter {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            configure(&configuration)
            switch self {
            case .queue: return try DatabaseQueue(path: path, configuration: configuration)
            case .pool: return try DatabasePool(path: path, configuration: configuration)
            }
        }
    }

    /// What a write would change: the database file, its WAL, and SQLite's count of changes on the connection.
    static func written(_ path: String, _ writer: any DatabaseWriter) throws -> [String] {
        let changes = writer.writeWithoutTransaction { $0.totalChangesCount }
        let files = try JournalModes.fileState(path).filter { $0.key != "-shm" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return files + ["changes=\(changes)"]
    }

    @Test(arguments: Kind.allCases)
    func openingAndReadingOnTheDeployersConnectionsWriteNothing(kind: Kind) throws {
        let directory = try TemporaryDirectory("deployer-connections")
        let path = try Fixtures.database(version: 3, in: directory)
        let seed = try VMStore(path: path)
        try seed.provision(.sample("main", "005o"))
        try seed.provision(.sample("qa", "005o"))
        try seed.close()

        let writer = try kind.open(path)
        let before = try Self.written(path, writer)
        let store = try VMStore(writer: writer)
        #expect(store.databaseSchemaVersion == 3)
        #expect(try store.count() == 2)
        #expect(try store.vm(.id("qa", "005o"))?.network == "qa")
        #expect(storeErrorCode { _ = try store.vm(.ref("005o")) } == .ambiguous)
        #expect(try store.events(of: .ref("005o", "main")).isEmpty)
        #expect(try Self.written(path, writer) == before)
        // close() leaves the deployer's connections to the deployer.
        try store.close()
        #expect(try writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") } == 2)
        try writer.close()
    }

    @Test(arguments: Kind.allCases)
    func writesGoThroughTheDeployersWriterAndItSeesThem(kind: Kind) throws {
        let directory = try TemporaryDirectory("deployer-connections")
        let path = try Fixtures.database(version: 3, in: directory)
        let writer = try kind.open(path)
        defer { try? writer.close() }
        let clock: @Sendable () -> Date = { StoreFixture.fixedNow }
        let store = try VMStore(writer: writer, clock: clock)
        let record = try store.provision(.sample("main", "005o"))
        #expect(record.createdAt == StoreFixture.fixedNowText)
        try store.provision(.sample("qa", "005o"))
        try store.recordEvent("created", for: .ref("005o", "qa"))
        #expect(try writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms WHERE vm_id = '005o'") } == 2)
        // The deployer's foreign keys (on, GRDB's default) cascade the store's delete.
        try store.delete(.ref("005o", "qa"))
        #expect(try writer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vm_events") } == 0)
        #expect(storeErrorCode { try store.provision(.sample("main", "005o")) } == .alreadyRecorded)
        #expect(try store.list().map(\.identity) == [.id("main", "005o")])
    }

    @Test(arguments: Kind.allCases)
    func theVersionIsCheckedAndARefusedDatabaseIsLeftAsItWas(kind: Kind) throws {
        let directory = try TemporaryDirectory("deployer-connections")
        let old = try Fixtures.database(version: 1, in: directory, name: "v1.db")
        // No history, and VM tables of no version's shape (an unmanaged v2 or v3 opens).
        let unmanaged = try Fixtures.unmanagedDatabase(version: 3, in: directory, name: "unmanaged.db")
        try DatabaseQueue(path: unmanaged).write { try $0.execute(sql: "ALTER TABLE vms DROP COLUMN origin") }
        let newer = try Fixtures.database(version: 4, in: directory, name: "v5.db")
        try DatabaseQueue(path: newer).write { db in
            try db.execute(sql: """
                INSERT INTO vmdb_migrations (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind)
                VALUES (5, 'future', 'x', '2027-01-01T00:00:00Z', 0, 0, '9.9.9', 'applied')
                """)
        }
        for (path, code) in [(old, StoreError.Code.schemaTooOld), (unmanaged, .notManaged), (newer, .databaseNewer)] {
            let writer = try kind.open(path)
            let before = try Self.written(path, writer)
            #expect(storeErrorCode { _ = try VMStore(writer: writer) } == code, "\(path)")
            #expect(try Self.written(path, writer) == before)
            try writer.close()
        }
    }

    @Test func aConnectionWithForeignKeysOffIsRefused() throws {
        let directory = try TemporaryDirectory("deployer-connections")
        let path = try Fixtures.database(version: 3, in: directory)
        let writer = try Kind.queue.open(path) { $0.foreignKeysEnabled = false }
        #expect {
            try VMStore(writer: writer)
        } throws: { error in
            (error as? StoreError)?.code == .unusableDatabase && "\(error)".contains("foreign keys off")
        }
    }

    @Test func aConnectionWithoutAJournalIsRefusedNamingTheMode() throws {
        let directory = try TemporaryDirectory("deployer-connections")
        let path = try Fixtures.database(version: 3, in: directory)
        try JournalModes.set("delete", on: path)
        let writer = try Kind.queue.open(path) { $0.prepareDatabase { try $0.execute(sql: "PRAGMA journal_mode = OFF") } }
        #expect {
            try VMStore(writer: writer)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.code == .unsupportedJournalMode && error.journalMode == "OFF" && error.description.contains("DELETE, TRUNCATE, PERSIST or WAL")
        }
        // Any mode with a journal is fine, MEMORY included.
        let memory = try Kind.queue.open(path) { $0.prepareDatabase { try $0.execute(sql: "PRAGMA journal_mode = MEMORY") } }
        #expect(try VMStore(writer: memory).count() == 0)
    }
}
