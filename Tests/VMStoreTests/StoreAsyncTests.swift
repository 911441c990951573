import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// The async forms: many more tasks than the cooperative pool has threads (two on
/// the CI machine) use the store at once, and a write waiting for the lock waits
/// as a suspended task, never on a pool thread.
@Suite struct StoreAsyncTests {
    enum Connections: String, CaseIterable, CustomTestStringConvertible {
        case own, deployersQueue, deployersPool
        var testDescription: String { rawValue }

        /// A store on `path`, on its own connections (one reader, so readers queue) or the deployer's.
        func store(_ path: String, busyTimeout: Double) throws -> VMStore {
            var configuration = Configuration()
            configuration.busyMode = .timeout(busyTimeout)
            switch self {
            case .own: return try VMStore(path: path, options: .init(busyTimeout: busyTimeout, maximumReaderCount: 1))
            case .deployersQueue: return try VMStore(writer: try DatabaseQueue(path: path, configuration: configuration))
            case .deployersPool:
                configuration.maximumReaderCount = 1
                return try VMStore(writer: try DatabasePool(path: path, configuration: configuration))
            }
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: Connections.allCases)
    func twoHundredTasksAtOnceAllFinish(connections: Connections) async throws {
        let directory = try TemporaryDirectory("store-async")
        let path = try Fixtures.database(version: 3, in: directory)
        let store = try connections.store(path, busyTimeout: 30)
        let tasks = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<tasks {
                group.addTask {
                    let network = ["main", "qa", "test", "dev"][n % 4]
                    let id = String(format: "%04d", n / 4)
                    let record = try await store.provision(.sample(network, id))
                    #expect(try await store.vm(record.identity)?.identity == record.identity)
                    try await store.recordStatus(.stopped, for: record.identity.reference)
                    try await store.recordEvent("stopped", for: record.identity.reference)
                    #expect(try await store.events(of: record.identity.reference).map(\.kind) == ["stopped"])
                    let all = try await store.count()
                    #expect(all >= 1 && all <= tasks)
                    _ = try await store.list(network: network)
                    _ = try await store.vms(withID: id)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.count() == tasks)
        #expect(try await store.count(status: .stopped) == tasks)
        #expect(try await store.counts().map(\.count).reduce(0, +) == tasks)
        #expect(try await store.networks() == ["dev", "main", "qa", "test"])
        // The same ambiguity rule as the synchronous forms.
        let ambiguous = try await #require(throws: StoreError.self) { try await store.vm(.ref("0000")) }
        #expect(ambiguous.code == .ambiguous, "\(ambiguous)")
        try store.close()
    }

    /// Another connection holds the write lock; a task on the cooperative pool lets
    /// it go after a moment. Meanwhile many async writes and reads wait. Were they to
    /// wait on pool threads (blocking in SQLite's busy handler, or on a semaphore),
    /// the releasing task could not run until the busy timeout passed, and every
    /// write would fail as busy.
    @Test(.timeLimit(.minutes(2)), arguments: Connections.allCases)
    func writesWaitingForTheLockLeaveThePoolFree(connections: Connections) async throws {
        let directory = try TemporaryDirectory("store-async")
        let path = try Fixtures.database(version: 3, in: directory)
        let store = try connections.store(path, busyTimeout: 8)
        var holderConfiguration = Configuration()
        holderConfiguration.allowsUnsafeTransactions = true
        let holder = try DatabaseQueue(path: path, configuration: holderConfiguration)
        try await holder.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
        let started = Date()
        let writes = 16
        // When the holder let go, seconds after the start: what a blocked pool would delay
        // (until the busy timeout, 8 s). The writes' own durations are the machine's load.
        let released = try await withThrowingTaskGroup(of: Double?.self) { group in
            for n in 0..<writes {
                group.addTask { _ = try await store.provision(.sample("main", String(format: "%04d", n))); return nil }
                group.addTask { _ = try await store.list(); return nil }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(300))
                try await holder.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
                return Date().timeIntervalSince(started)
            }
            return try await group.reduce(nil) { $0 ?? $1 }
        }
        let seconds = try #require(released)
        #expect(try await store.count() == writes)
        // Before the busy timeout (8 s): had the waiting writes held the pool's threads, the
        // release would have come only once they failed as busy, and the group would have thrown.
        // Other suites' blocking tests share this process's pool, so the margin is wide.
        #expect(seconds < 8, "the lock was let go after \(seconds) s: the releasing task waited for a pool thread that waiting writes held")
        try store.close()
    }
}
