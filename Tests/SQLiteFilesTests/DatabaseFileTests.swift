import Foundation
import GRDB
import SQLiteFiles
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

/// Only an existing SQLite file is opened; everything else is named by its code, and nothing is created.
@Suite struct ExistingFileTests {
    @Test func eachWrongPathGetsItsOwnCodeAndNothingIsCreated() throws {
        let directory = try TemporaryDirectory("existing")
        let empty = directory.file("empty.db")
        let text = directory.file("notes.db")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        _ = FileManager.default.createFile(atPath: text, contents: Data("SQLite? no: an operator's notes".utf8))
        let cases: [(String, SQLiteFileError.Code)] = [
            (directory.file("typo.db"), .noSuchDatabase),
            (directory.path, .notADatabase),
            (empty, .notADatabase),
            (text, .notADatabase),
        ]
        for (path, code) in cases {
            let error = #expect(throws: SQLiteFileError.self, "\(path)") { _ = try DatabaseFile.open(path, access: .readOnly) }
            #expect(error?.code == code, "\(path): \(String(describing: error))")
            #expect(error?.path == path)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["empty.db", "notes.db"])
    }

    @Test(.enabled(if: getuid() != 0, "root writes any file"))
    func aReadOnlyFileIsRefusedForWritingAndOpenedForReading() throws {
        let directory = try TemporaryDirectory("read-only")
        let path = try Fixtures.database(version: 2, in: directory)
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        let error = #expect(throws: SQLiteFileError.self) { _ = try DatabaseFile.open(path) }
        #expect(error?.code == .readOnlyFile)
        let reader = try DatabaseFile.open(path, access: .readOnly)
        try reader.close()
    }
}
