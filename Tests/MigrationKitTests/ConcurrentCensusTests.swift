import Foundation
import GRDB
import SQLiteFiles
import Testing
import VMDBTestSupport
@testable import MigrationKit

/// The background hash never outlives the run that started it.
@Suite struct ConcurrentCensusTests {
    @Test func cancelStopsARunningHashAndJoinsIt() async throws {
        try await offThePool {
            let directory = try TemporaryDirectory("census")
            let path = directory.file("big.db")
            try LargeDatabase.makeV2(at: path, vms: 100_000)
            let reader = try DatabaseFile.open(path, access: .readOnly)
            defer { try? reader.close() }
            let tables = Array(repeating: (table: "vms", expressions: ["*"]), count: 40)

            let fullWatch = Stopwatch()
            _ = try ConcurrentCensus(reader: reader, tables: [tables[0]], parameters: [:]).wait()
            let oneTable = fullWatch.elapsedSeconds

            let census = ConcurrentCensus(reader: reader, tables: tables, parameters: [:])
            Thread.sleep(forTimeInterval: oneTable)   // well inside the hash of 40 tables
            let watch = Stopwatch()
            census.cancel()
            // Joined: it stopped long before the 40 tables were hashed, and the reader is free again.
            #expect(watch.elapsedSeconds < oneTable * 10, "cancel took \(watch.elapsedSeconds) s; one table takes \(oneTable) s")
            #expect(throws: DatabaseError.self) { try census.wait() }
            #expect(try reader.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") } == 100_000)
        }
    }
}
