import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// The operator's journal mode, seen from the library: opening and reading in
/// every mode leave the file byte for byte, and a writer that crashes while the
/// store is open leaves a hot journal the store rolls back before it reads.
@Suite struct StoreJournalTests {
    static func database(in directory: TemporaryDirectory, mode: String, vms: Int) throws -> String {
        let path = try Fixtures.database(version: 3, in: directory)
        let store = try VMStore(path: path)
        try store.write { writer in
            for n in 0..<vms {
                try writer.provision(.sample(n % 2 == 0 ? "main" : "qa", String(format: "%04d", n), name: "vm-\(n)-" + String(repeating: "x", count: 200)))
            }
        }
        try store.close()
        try JournalModes.set(mode, on: path)
        return path
    }

    @Test(arguments: JournalModes.all)
    func openingAndReadingInEveryModeLeaveTheFileByteForByte(mode: String) throws {
        let directory = try TemporaryDirectory("store-journal")
        let path = try Self.database(in: directory, mode: mode, vms: 10)
        let before = try JournalModes.fileState(path)
        let store = try VMStore(path: path)
        #expect(try store.count() == 10)
        #expect(try store.list().count == 10)
        #expect(try store.vm(.id("qa", "0001")) != nil)
        try store.close()
        #expect(try JournalModes.fileState(path) == before)
    }

    @Test(arguments: ["sync", "async"])
    func aWriterCrashingWhileTheStoreIsOpenLeavesAHotJournalTheStoreRollsBack(form: String) async throws {
        let directory = try TemporaryDirectory("store-journal")
        let path = try Self.database(in: directory, mode: "delete", vms: 3000)
        let before = try Fixtures.fileHash(path)
        let store = try VMStore(path: path)
        // The synchronous forms, from a synchronous function (in an async one, the async forms are chosen).
        func listSynchronously() throws -> [VMRecord] { try store.list() }
        #expect(try listSynchronously().count == 3000)   // a reader connection is open and idle
        try JournalModes.crashWriterMidTransaction(path, in: directory)
        try #require((JournalModes.sidecarSize(path, "-journal") ?? 0) > 0, "no hot journal was left")
        try #require(try Fixtures.fileHash(path) != before, "the writer spilled no page into the file")

        let names = form == "sync" ? try listSynchronously().map(\.name) : try await store.list().map(\.name)
        #expect(names.count == 3000 && !names.contains { $0.hasPrefix("half-written") })
        #expect(JournalModes.sidecarSize(path, "-journal") == nil)
        #expect(try await store.count() == 3000)
        try store.close()
        #expect(try Fixtures.fileHash(path) == before)
    }
}

/// A deployer may open the store more than once in one process (a second store, or
/// its own connections beside the store's): opening must not drop the locks the
/// process already holds, or another process's closing connection deletes the WAL
/// under the open store's readers.
@Suite struct StoreLockTests {
    @Test func openingASecondStoreKeepsTheProcessLocksOnTheFile() throws {
        let directory = try TemporaryDirectory("store-locks")
        let path = try StoreJournalTests.database(in: directory, mode: "wal", vms: 10)
        let first = try VMStore(path: path)
        #expect(try first.count() == 10)
        let second = try VMStore(path: path)
        #expect(try second.count() == 10)
        #expect(try JournalModes.anotherProcessWritesAndCloses(path), "the WAL was deleted while two stores were open")
        #expect(try first.count() == 10)
        try second.close()
        try first.close()
    }
}
