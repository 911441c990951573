import Foundation
import GRDB
import SQLiteFiles

/// Takes the "before" census on a second, read-only connection while the
/// writer copies tables, so hashing uses the other core instead of adding to
/// the time the write lock is held.
///
/// Correct only in WAL mode: the writer holds the write lock (BEGIN IMMEDIATE)
/// and has not committed, so any read transaction on another connection sees
/// exactly the database as it was when the migration began.
///
/// The worker never outlives its owner: ``wait()`` joins it, and ``cancel()``
/// (for every path out that does not wait, such as a failed copy) interrupts its
/// statement and joins it too, so a process never exits, or closes the reader,
/// while the hash is still running (which crashed at exit under load).
final class ConcurrentCensus: @unchecked Sendable {
    // @unchecked: `result` is written once by the worker before `group.leave()`
    // and read only after `group.wait()`; `reader` is itself Sendable.
    private let group = DispatchGroup()
    private let reader: DatabaseQueue
    private var result: Result<[ContentHasher.Result], any Error> = .success([])

    init(reader: DatabaseQueue, tables: [(table: String, expressions: [String])], parameters: MigrationParameters) {
        self.reader = reader
        group.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result {
                try reader.read { db in
                    try tables.map { try ContentHasher.hash(db, table: $0.table, expressions: $0.expressions, parameters: parameters) }
                }
            }
            group.leave()
        }
    }

    /// The hashes, once the worker is done.
    func wait() throws -> [ContentHasher.Result] {
        group.wait()
        return try result.get()
    }

    /// Stops the worker (its result is dropped) and returns once it has stopped.
    func cancel() {
        reader.interrupt()
        group.wait()
    }
}
