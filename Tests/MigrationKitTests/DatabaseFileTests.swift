import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport

/// Opening a database must not break the locks this process already holds on it.
@Suite struct DatabaseFileTests {
    /// `migrate --online` keeps a snapshot open on one connection while it opens
    /// others. Had opening read the header through a descriptor of its own, closing
    /// that descriptor would drop the process's locks, and a deployer connection
    /// that closes would then checkpoint past the snapshot and delete the WAL under
    /// it (the snapshot then read "database corruption").
    @Test func openingAnotherConnectionKeepsTheProcessLocksOnTheFile() throws {
        let directory = try TemporaryDirectory("database-file")
        let path = try Fixtures.database(version: 2, in: directory)
        let first = try DatabaseFile.open(path)
        try first.inDatabase { db in
            try db.execute(sql: "BEGIN DEFERRED")
            let tables = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
            let second = try DatabaseFile.open(path, access: .readOnly)
            try second.close()
            #expect(try JournalModes.anotherProcessWritesAndCloses(path), "the WAL was deleted under an open snapshot")
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == tables)
            try db.execute(sql: "COMMIT")
        }
        try first.close()
    }
}
