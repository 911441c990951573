import Foundation
import GRDB

/// Databases in each journal mode an operator may run, and the traces each leaves.
public enum JournalModes {
    /// The modes a file can be left in by its operator's connections.
    public static let all = ["delete", "truncate", "persist", "wal"]

    /// Puts the database at `path` in `mode` as an operator's connection would:
    /// `PRAGMA journal_mode = mode` and one write, so that TRUNCATE leaves an empty
    /// journal file and PERSIST one with a zeroed header, as they do after every commit.
    public static func set(_ mode: String, on path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            let now = try String.fetchOne(db, sql: "PRAGMA journal_mode = \(mode)")
            guard now == mode else { throw DatabaseError(message: "journal mode \(mode) not set: \(now ?? "nil")") }
            // A write that changes nothing, so the mode's journal is used once.
            try db.execute(sql: "UPDATE vms SET name = name WHERE id = (SELECT min(id) FROM vms)")
        }
        try queue.close()
    }

    /// The file format versions in the header (bytes 18 and 19): 1 for a rollback journal, 2 for WAL.
    public static func headerVersions(_ path: String) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let header = try handle.read(upToCount: 20) ?? Data()
        return Array(header.dropFirst(18))
    }

    /// The size of a file beside the database (`-journal`, `-wal`, `-shm`), or nil when there is none.
    public static func sidecarSize(_ path: String, _ suffix: String) -> Int? {
        ((try? FileManager.default.attributesOfItem(atPath: path + suffix))?[.size] as? NSNumber)?.intValue
    }

    /// The database, its sidecars and their SHA-256s: what "no byte changed" compares.
    public static func fileState(_ path: String) throws -> [String: String] {
        var state: [String: String] = [:]
        for suffix in ["", "-journal", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            state[suffix.isEmpty ? "database" : suffix] = try Fixtures.fileHash(path + suffix)
        }
        return state
    }

    /// Starts a writer process (Python's sqlite3 on the same system SQLite) that
    /// begins a transaction in DELETE mode rewriting every VM's name and deleting
    /// every event, with a cache small enough that SQLite spills changed pages into
    /// the database file before commit, and kills it with SIGKILL there: the file
    /// is left half-written beside a hot journal.
    public static func crashWriterMidTransaction(_ path: String, in directory: TemporaryDirectory) throws {
        let ready = directory.file("writer-spilled")
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            con = sqlite3.connect(sys.argv[1], isolation_level=None)
            assert con.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
            con.execute("PRAGMA cache_size = 10")
            con.execute("BEGIN IMMEDIATE")
            con.execute("UPDATE vms SET name = 'half-written ' || name")
            con.execute("DELETE FROM vm_events")
            open(sys.argv[2], "w").close()
            time.sleep(120)
            """, path, ready]
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: ready) && writer.isRunning && Date() < deadline { usleep(5_000) }
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        guard FileManager.default.fileExists(atPath: ready) else {
            throw DatabaseError(message: "the writer never reached its transaction")
        }
    }

    /// Another process (Python's sqlite3) opens the database, commits one write and
    /// closes. When that was the last connection holding a lock on the file, SQLite
    /// checkpoints and deletes the WAL; a process whose connections are still open
    /// holds a shared lock that prevents it. Returns whether the `-wal` file is
    /// still there afterwards.
    public static func anotherProcessWritesAndCloses(_ path: String) throws -> Bool {
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", "-c", """
            import sqlite3, sys
            con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
            con.execute("CREATE TABLE IF NOT EXISTS other_process (n)")
            con.execute("INSERT INTO other_process VALUES (1)")
            con.close()
            """, path]
        try writer.run()
        writer.waitUntilExit()
        guard writer.terminationStatus == 0 else { throw DatabaseError(message: "the other process's write failed") }
        return FileManager.default.fileExists(atPath: path + "-wal")
    }
}
