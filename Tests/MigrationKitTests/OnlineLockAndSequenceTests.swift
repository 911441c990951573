import Foundation
import GRDB
import MigrationKit
import ShippedMigrations
import Testing
import VMDBTestSupport

/// What the online run records and keeps besides the rows: the history's lock figure
/// counts every write transaction the run held, the cut-over's included; an
/// AUTOINCREMENT counter is read under the cut-over's lock, not when the run began.
@Suite(.serialized) struct OnlineLockAndSequenceTests {
    typealias Harness = OnlineConvergenceTests

    /// Small copy chunks, so the longest transactions come after the history row is
    /// written (the cut-over, the drain's batches, sized by time): the figure must count them.
    @Test func theHistorysLockFigureIncludesTheCutOverAndTheDrain() throws {
        let directory = try TemporaryDirectory("online-lock-figure")
        let (live, _) = try Harness.databases(vms: 6_000, in: directory)
        let deployer = try Harness.Deployer(path: live, plan: [:])
        let report = try Fixtures.migrator.migrate(path: live, options: Harness.options(online: Harness.settings(chunkRows: 200, batch: 100, deployer: deployer)))
        try deployer.close()
        let figures = try #require(report.migrations.first?.verification.online)
        #expect(figures.cutOverMilliseconds > 0)
        let queue = try DatabaseQueue(path: live)
        defer { try? queue.close() }
        let lock = try queue.read { try Int.fetchOne($0, sql: "SELECT lock_ms FROM vmdb_migrations WHERE version = 3") } ?? -1
        #expect(Double(lock) >= figures.cutOverMilliseconds.rounded(.down), "history lock \(lock) ms, cut-over \(figures.cutOverMilliseconds) ms")
        #expect(lock == Int(figures.longestTransactionMilliseconds.rounded()), "history lock \(lock) ms, longest \(figures.longestTransactionMilliseconds) ms")
        #expect(report.migrations[0].lockSeconds * 1000 >= figures.cutOverMilliseconds)
    }

    static let catalog = [
        (name: "0001_items.sql", text: "--! step\nCREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL);\n"),
        (name: "0002_items_note.sql", text: "--! recreate items\nCREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, note TEXT);\n"),
    ]

    /// A row inserted with rowid 1000 and deleted again during the copy: the migrated
    /// table's counter is past it, as the old one's was, and offline keeps it too.
    @Test func anAutoincrementRowidHandedOutDuringTheCopyIsNeverReused() throws {
        let migrator = Migrator(catalog: try MigrationCatalog(files: Self.catalog), toolVersion: "test", configuration: ShippedMigrations.configuration)
        let directory = try TemporaryDirectory("online-autoincrement")
        let live = directory.file("live.db")
        try migrator.createDatabase(path: live, version: 1)
        let queue = try DatabaseQueue(path: live)
        try queue.write { db in for n in 0..<10 { try db.execute(sql: "INSERT INTO items (name) VALUES (?)", arguments: ["item \(n)"]) } }
        try queue.close()
        let deployer = try Harness.Deployer(path: live, plan: [0: [Harness.Write([("INSERT INTO items (id, name) VALUES (1000, 'brief')", []), ("DELETE FROM items WHERE id = 1000", [])])]])
        var options = MigrationOptions()
        options.takesBackup = false
        options.online = Harness.settings(chunkRows: 3, batch: 100, deployer: deployer)
        _ = try migrator.migrate(path: live, options: options)
        try deployer.close()
        #expect(deployer.acknowledged.count == 1, "\(deployer.failures)")
        let after = try DatabaseQueue(path: live)
        defer { try? after.close() }
        let sequence = try after.read { try Int64.fetchOne($0, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'items'") }
        #expect(sequence == 1000)
        let next = try after.write { db -> Int64 in
            try db.execute(sql: "INSERT INTO items (name) VALUES ('next')")
            return db.lastInsertedRowID
        }
        #expect(next == 1001)
    }
}
