import Foundation
import GRDB
import SQLiteFiles
import GRDBSQLite

/// The online path's write transactions: each one BEGIN IMMEDIATE … COMMIT on the
/// migrator's connection, timed from the moment the lock is held to the moment it
/// is released, because that is how long the deployer may have waited on it.
///
/// With a limit (the cut-over), SQLite's progress handler interrupts the
/// transaction's statements once the limit passes, and it is rolled back.
///
/// After each transaction, committed or rolled back, the next one waits until the
/// lock has been free for the pace × the time it was held (``OnlineSettings/pause``),
/// and for a long hold at least 100 ms: SQLite's busy handler polls a waiting
/// writer's lock at most every 100 ms, so a shorter gap after a long hold can be
/// missed, and two missed gaps in a row outlast a deployer's busy timeout. The gap
/// is kept here, where every online transaction starts, so no caller can forget it.
final class WriteTransactions {
    private(set) var figures: OnlineFigures
    private let log: ((String) -> Void)?
    private let path: String
    /// ``OnlineSettings/afterTransaction``, a test seam.
    private let afterCommit: (@Sendable (String) -> Void)?
    /// ``OnlineSettings/pause``.
    private let pace: Double
    /// Uptime (ns) before which the next transaction may not take the lock.
    private var lockFreeUntil: UInt64 = 0

    init(figures: OnlineFigures, path: String, log: ((String) -> Void)?, pace: Double,
         afterCommit: (@Sendable (String) -> Void)? = nil) {
        self.figures = figures
        self.path = path
        self.log = log
        self.pace = pace
        self.afterCommit = afterCommit
    }

    /// The lock-free gap owed after holding the lock `milliseconds`.
    static func gap(afterHolding milliseconds: Double, pace: Double) -> Double {
        max(milliseconds * pace, min(milliseconds, 100), 1)
    }

    /// Waits out the gap the last transaction left owing (see the type's comment).
    private func waitForGap() {
        let now = DispatchTime.now().uptimeNanoseconds
        guard lockFreeUntil > now else { return }
        Thread.sleep(forTimeInterval: Double(lockFreeUntil - now) / 1e9)
    }

    private func released(heldFor milliseconds: Double) {
        lockFreeUntil = DispatchTime.now().uptimeNanoseconds + UInt64(Self.gap(afterHolding: milliseconds, pace: pace) * 1e6)
    }

    /// Checked first in every transaction while the online copy runs.
    var schemaGuard: OnlineSchemaGuard?

    /// Thrown when a limited transaction ran past its limit and was rolled back.
    struct LimitExceeded: Error {}

    /// Runs `body` in one write transaction; returns its result and how long the lock was held.
    func run<T>(_ db: Database, doing activity: String, limitMilliseconds: Double? = nil,
                _ body: () throws -> T) throws -> (result: T, milliseconds: Double) {
        waitForGap()
        do {
            try db.execute(sql: "BEGIN IMMEDIATE")
        } catch {
            throw MigrationError.wrapping(error, path: path, doing: "waiting for the write lock (\(activity))")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
        let deadline = limitMilliseconds.map { Deadline(start + UInt64($0 * 1e6)) }
        if let deadline { deadline.install(on: db.sqliteConnection) }
        do {
            try schemaGuard?.check(db)
            let result = try body()
            // Never interrupt the COMMIT itself.
            deadline?.remove(from: db.sqliteConnection)
            try db.execute(sql: "COMMIT")
            let milliseconds = elapsed()
            released(heldFor: milliseconds)
            figures.record(milliseconds: milliseconds, doing: activity)
            afterCommit?(activity)
            return (result, milliseconds)
        } catch {
            deadline?.remove(from: db.sqliteConnection)
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
            let milliseconds = elapsed()
            released(heldFor: milliseconds)
            figures.record(milliseconds: milliseconds, doing: activity + " (rolled back)")
            if let deadline, deadline.fired {
                figures.overLimitRollbacks += 1
                throw LimitExceeded()
            }
            throw MigrationError.wrapping(error, path: path, doing: activity)
        }
    }

    /// Tries at the minimum size, all over the lock limit, before ``runShrinking`` gives up.
    static let triesAtMinimum = 8

    /// Runs `body(size)` under the lock limit; one that runs past it (a busy machine)
    /// is rolled back and run again a quarter as large, never under `minimum`, after
    /// the gap its hold owes. `size` keeps the size that committed.
    /// After ``triesAtMinimum`` tries at the minimum, all over the limit, it stops with
    /// ``MigrationError/Code/onlineLagging`` (75): every transaction was rolled back,
    /// so the run is as its last commit left it, and running it again goes on from there.
    func runShrinking<T>(_ db: Database, doing activity: String, size: inout Int, minimum: Int, settings: OnlineSettings,
                         _ body: (Int) throws -> T) throws -> (result: T, milliseconds: Double) {
        var atMinimum = 0
        while true {
            let attempt = size
            do {
                return try run(db, doing: activity, limitMilliseconds: settings.maxLockMilliseconds) { try body(attempt) }
            } catch is LimitExceeded {
                if attempt <= minimum { atMinimum += 1 }
                guard atMinimum < Self.triesAtMinimum else {
                    throw MigrationError(.onlineLagging, "the online migration could not fit one batch (\(activity), \(attempt) rows) in its lock limit of \(Int(settings.maxLockMilliseconds.rounded(.up))) ms in \(atMinimum) tries at that size: this machine or this database is too slow for that limit right now. Every such try was rolled back, so the deployer is unaffected and running the migration again goes on from here; raise --max-lock-ms, or run it at a quieter time",
                                         path: path)
                }
                size = max(minimum, attempt / 4)
            }
        }
    }

    /// Notes the WAL's size and, past 4 MiB, copies it back into the file without
    /// waiting for anyone (PASSIVE), so it stays small.
    func checkpoint(_ db: Database) throws {
        let wal = DiskSpace.fileSize(path + "-wal")
        figures.peakWALBytes = max(figures.peakWALBytes, wal)
        guard wal > 4 << 20 else { return }
        log?("PRAGMA wal_checkpoint(PASSIVE)")
        _ = try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
    }

    func update(_ change: (inout OnlineFigures) -> Void) { change(&figures) }

    /// The change batches' size, as ``runShrinking`` last left it (nil: not shrunk yet).
    var changeBatchSize: Int?

    /// A time limit SQLite checks every thousand virtual-machine steps.
    private final class Deadline {
        let nanoseconds: UInt64
        var fired = false
        private var context: Unmanaged<Deadline>?

        init(_ nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

        func install(on connection: OpaquePointer?) {
            let context = Unmanaged.passRetained(self)
            self.context = context
            sqlite3_progress_handler(connection, 1000, { pointer in
                guard let pointer else { return 0 }
                let deadline = Unmanaged<Deadline>.fromOpaque(pointer).takeUnretainedValue()
                guard DispatchTime.now().uptimeNanoseconds > deadline.nanoseconds else { return 0 }
                deadline.fired = true
                return 1
            }, context.toOpaque())
        }

        func remove(from connection: OpaquePointer?) {
            sqlite3_progress_handler(connection, 0, nil, nil)
            context?.release()
            context = nil
        }
    }
}
