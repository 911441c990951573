import Foundation
import Testing
import VMDBTestSupport
import VMStore
import VMStorePostgres
import PostgresAccess

/// Two deployer processes on one PostgreSQL database, each with its own connections, recording the
/// same pairs at the same moment: the server's `UNIQUE (network, vm_id)` lets exactly one win each,
/// the other gets the store's typed `alreadyRecorded`, and no pair is recorded twice.
@Suite struct TwoDeployersRaceTests {
    static let pairs = 200

    @Test func exactlyOneOfTwoProcessesRecordsEachPair() async throws {
        let database = try await ScratchDatabase.make()
        defer { database.drop() }
        let directory = try TemporaryDirectory("race")
        let go = directory.file("go")
        let executable = VMDBProcess.builtExecutable("vmdb-test-postgres-deployer")
        let deployers = try ["a", "b"].map {
            try WatchedProcess([database.url, "main", "\(Self.pairs)", go], executable: executable, in: directory, label: "deployer-\($0)")
        }
        for deployer in deployers { #expect(deployer.waitFor("ready", timeout: 60), "\(deployer.standardError)") }
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        let outcomes = deployers.map { $0.finish(timeout: 120) }

        var winners: [Int: Int] = [:], duplicates = 0, others: [String] = []
        for outcome in outcomes {
            #expect(outcome.exitCode == 0, "\(outcome.standardError)")
            for line in outcome.standardOutput.split(separator: "\n") {
                let words = line.split(separator: " ")
                switch words.first {
                case "recorded": winners[Int(words[1])!, default: 0] += 1
                case "duplicate": duplicates += 1
                default: others.append(String(line))
                }
            }
        }
        #expect(others.isEmpty, "untyped or unexpected outcomes: \(others.prefix(5))")
        #expect(winners.count == Self.pairs && winners.values.allSatisfy { $0 == 1 })
        #expect(duplicates == Self.pairs)
        // What the database holds: each pair once.
        let store = try VMStore(postgres: try PostgresLocation(url: database.url))
        defer { try? store.close() }
        let recorded = try await store.list(network: "main")
        #expect(recorded.count == Self.pairs)
        #expect(Set(recorded.map(\.vmID)).count == Self.pairs)
    }
}
