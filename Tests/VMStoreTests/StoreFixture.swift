import Foundation
import GRDB
import VMDBTestSupport
import VMStore

/// A v3 database made as `vmdb init` makes it, in a per-test folder, with a store on it.
struct StoreFixture {
    static let fixedNow = Date(timeIntervalSince1970: 1_795_000_000)   // 2026-11-18T…Z
    static let fixedNowText = Timestamp.string(from: fixedNow)

    let directory: TemporaryDirectory
    let path: String
    let store: VMStore

    init(clock: @escaping @Sendable () -> Date = { StoreFixture.fixedNow }) throws {
        directory = try TemporaryDirectory("store")
        path = try Fixtures.database(version: 3, in: directory)
        store = try VMStore(path: path, options: .init(clock: clock))
    }

    /// A direct connection, to check what the store wrote independently of it.
    func rawQueue() throws -> DatabaseQueue {
        try DatabaseQueue(path: path)
    }
}


/// The code of a store error, or nil for any other outcome.
func storeErrorCode(_ body: () throws -> Void) -> StoreError.Code? {
    do {
        try body()
        return nil
    } catch let error as StoreError {
        return error.code
    } catch {
        return nil
    }
}
