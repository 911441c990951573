import Foundation
import GRDB
@testable import MigrationKit
import Testing
import VMDBTestSupport

/// Every online write transaction leaves the lock free after it, long enough that a
/// deployer waiting in SQLite's busy handler (which polls at most every 100 ms) gets
/// it before the migrator's next transaction. The gap is kept where every online
/// transaction starts: before, each caller paused on its own, and the cut-over's
/// retry left 50 ms after a 400 ms hold, which a waiting deployer could miss twice
/// and then exceed its 1 s busy timeout (a fresh-clone CI run, RELIABILITY.md).
@Suite struct WriteTransactionsGapTests {
    @Test func theGapFollowsThePaceAndNeverLeavesALongHoldWithoutAPoll() {
        #expect(WriteTransactions.gap(afterHolding: 400, pace: 1) == 400)
        #expect(WriteTransactions.gap(afterHolding: 400, pace: 0.1) == 100, "a long hold owes at least one busy-handler poll")
        #expect(WriteTransactions.gap(afterHolding: 400, pace: 0) == 100)
        #expect(WriteTransactions.gap(afterHolding: 20, pace: 0) == 20)
        #expect(WriteTransactions.gap(afterHolding: 0.1, pace: 1) == 1)
    }

    /// Two transactions back to back, as the cut-over and the first drain batch run:
    /// a writer that began waiting during the first one gets the lock before the second.
    @Test(arguments: [1.0, 0.0])
    func aWriterWaitingDuringALongHoldGetsTheLockBeforeTheNextOne(pace: Double) throws {
        let directory = try TemporaryDirectory("write-gap")
        let path = directory.file("gap.db")
        var waiting = Configuration()
        waiting.busyMode = .timeout(5)
        let migrator = try DatabaseQueue(path: path, configuration: waiting)
        try migrator.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "CREATE TABLE t (x)")
        }
        let holding = DispatchSemaphore(value: 0)
        let writerGotIt = Clock()
        let writer = Thread {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)   // SQLite's own busy handler, as a deployer's
            guard let queue = try? DatabaseQueue(path: path, configuration: configuration) else { return }
            holding.wait()
            try? queue.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                writerGotIt.mark()
                try db.execute(sql: "INSERT INTO t VALUES ('deployer')")
                try db.execute(sql: "COMMIT")
            }
            writerGotIt.done()
        }
        writer.start()
        let secondBegan = Clock()
        try migrator.writeWithoutTransaction { db in
            let transactions = WriteTransactions(figures: OnlineFigures(), path: path, log: nil, pace: pace)
            _ = try transactions.run(db, doing: "a long hold") {
                holding.signal()
                Thread.sleep(forTimeInterval: 0.35)   // the writer is now deep in its busy handler's 100 ms sleeps
                try db.execute(sql: "INSERT INTO t VALUES ('first')")
            }
            _ = try transactions.run(db, doing: "the next") {
                secondBegan.mark()
                try db.execute(sql: "INSERT INTO t VALUES ('second')")
                Thread.sleep(forTimeInterval: 0.35)
            }
        }
        writerGotIt.waitDone()
        let order = try migrator.read { try String.fetchAll($0, sql: "SELECT x FROM t ORDER BY rowid") }
        #expect(order == ["first", "deployer", "second"], "the writer waited through the next transaction: \(order)")
        if let got = writerGotIt.time, let began = secondBegan.time { #expect(got < began) }
    }

    /// A moment, marked once, from any thread.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var marked: Date?
        private let finished = DispatchSemaphore(value: 0)
        var time: Date? { lock.withLock { marked } }
        func mark() { lock.withLock { marked = Date() } }
        func done() { finished.signal() }
        func waitDone() { _ = finished.wait(timeout: .now() + 10) }
    }
}
