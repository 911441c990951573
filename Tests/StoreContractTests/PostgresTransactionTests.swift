import Foundation
import Testing
import VMStore

/// Where PostgreSQL's transactions differ from SQLite's, and what the store does about it.
@Suite struct PostgresTransactionTests {
    /// A statement PostgreSQL refuses aborts its whole transaction (SQLite undoes the statement alone),
    /// and the server answers the COMMIT that follows with ROLLBACK. A body that caught the error and
    /// went on must not be told its writes were committed: the store throws, and nothing was written.
    @Test func aWriteWhoseStatementFailedIsNeverReportedCommitted() async throws {
        try await Engine.postgres.withStore { store, database in
            guard case .postgres(let scratch) = database else { return }
            try ScratchDatabase.run(on: scratch.url, ["DROP TABLE vm_events"])
            let error = storeError {
                try store.write { writer in
                    try writer.provision(.sample("main", "vm-1"))
                    #expect(throws: (any Error).self) { try writer.recordEvent("created", for: .ref("vm-1", "main")) }
                }
            }
            #expect(error?.code == .databaseFailure)
            #expect(error?.sqlState == "25P02")
            #expect(try store.count() == 0)
        }
    }
}
