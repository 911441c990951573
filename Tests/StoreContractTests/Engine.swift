import Foundation
import Testing
import VMDBTestSupport
import VMStore
import VMStorePostgres

/// The engines the contract runs on: every test in this target takes one as its argument and runs
/// unchanged on each (FluentKit's `FluentBenchmark`, run against every driver).
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static let fixedNow = Date(timeIntervalSince1970: 1_795_000_000)

    /// Runs `body` with a store on a fresh database at `version`: a file made as `vmdb init` makes it
    /// (then migrated), or a PostgreSQL database of the test's own migrated by the shipped PostgreSQL
    /// migrations (dropped after). `body` uses the store's synchronous forms: they wait for the
    /// database on this thread, never on a task (the PostgreSQL ones wait on NIO's futures).
    func withStore<T>(version: Int = VMStore.schemaVersion, busyTimeout: Double = 5,
                      clock: @escaping @Sendable () -> Date = { Engine.fixedNow },
                      _ body: (VMStore, ContractDatabase) throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory("contract")
            let path = try Fixtures.database(version: version, in: directory)
            // The way a deployer opens it: one configuration value, a path or a URL.
            let store = try VMStore(database: path, options: .init(busyTimeout: busyTimeout, clock: clock))
            defer { try? store.close() }
            return try body(store, .sqlite(path: path))
        case .postgres:
            let database = try await ScratchDatabase.make(version: version)
            defer { database.drop() }
            let store = try VMStore(database: database.url, options: .init(busyTimeout: busyTimeout, clock: clock))
            defer { try? store.close() }
            return try body(store, .postgres(database))
        }
    }

    /// The same for a body that uses the store's `async` forms.
    func withStore<T: Sendable>(async body: @Sendable (VMStore, ContractDatabase) async throws -> T) async throws -> T {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory("contract")
            let path = try Fixtures.database(version: VMStore.schemaVersion, in: directory)
            let store = try VMStore(database: path, options: .init(clock: { Engine.fixedNow }))
            defer { try? store.close() }
            return try await body(store, .sqlite(path: path))
        case .postgres:
            let database = try await ScratchDatabase.make()
            defer { database.drop() }
            let store = try VMStore(database: database.url, options: .init(clock: { Engine.fixedNow }))
            defer { try? store.close() }
            return try await body(store, .postgres(database))
        }
    }
}


/// The store error `body` threw (failing the test when it threw none, or another error).
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        Issue.record("expected a StoreError, got none")
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)")
        return nil
    }
}
