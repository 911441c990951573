import Foundation
import GRDB

/// Takes the "before" census on a second, read-only connection while the
/// writer copies tables, so hashing uses the other core instead of adding to
/// the time the write lock is held.
///
/// Correct only in WAL mode: the writer holds the write lock (BEGIN IMMEDIATE)
/// and has not committed, so any read transaction on another connection sees
/// exactly the database as it was when the migration began.
final class ConcurrentCensus: @unchecked Sendable {
    // @unchecked: `result` is written once by the worker before `group.leave()`
    // and read only after `group.wait()`.
    private let group = DispatchGroup()
    private var result: Result<[ContentHasher.Result], any Error> = .success([])

    init(reader: DatabaseQueue, tables: [(table: String, expressions: [String])], parameters: MigrationParameters) {
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

    func wait() throws -> [ContentHasher.Result] {
        group.wait()
        return try result.get()
    }
}
