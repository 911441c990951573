import Foundation
import Testing
import VMStore

/// What a deployer relies on, written once and run unchanged on SQLite and on PostgreSQL.
@Suite struct StoreContractTests {
    @Test(arguments: Engine.allCases)
    func aProvisionedVMIsFoundByItsPair(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            let recorded = try store.provision(.sample("main", "vm-1"))
            #expect(recorded.identity == .id("main", "vm-1"))
            #expect(recorded.origin == .provision)
            #expect(recorded.createdAt == Timestamp.string(from: Engine.fixedNow))
            #expect(try store.vm(.id("main", "vm-1")) == recorded)
            #expect(try store.vm(.ref("vm-1", "main")) == recorded)
            #expect(try store.vm(.id("other", "vm-1")) == nil)
            #expect(try store.list() == [recorded])
        }
    }

    @Test(arguments: Engine.allCases)
    func aDuplicatePairIsRefusedByNameAndNothingIsWritten(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            let first = try store.provision(.sample("main", "vm-1", name: "first"))
            let error = storeError { try store.provision(.sample("main", "vm-1", name: "second")) }
            #expect(error?.code == .alreadyRecorded)
            #expect(error?.identity == .id("main", "vm-1"))
            #expect(error.map { "\($0)".contains("network main") && "\($0)".contains("'vm-1'") } == true)
            #expect(try store.count() == 1)
            #expect(try store.vm(.id("main", "vm-1")) == first)
        }
    }

    @Test(arguments: Engine.allCases)
    func theSameIDOnTwoNetworksIsTwoVMs(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            try store.provision(.sample("west", "vm-1"))
            try store.provision(.sample("east", "vm-1"))
            #expect(try store.vms(withID: "vm-1").map(\.network) == ["east", "west"])
            #expect(try store.networks() == ["east", "west"])
            #expect(try store.count() == 2)
            #expect(try store.counts() == [VMCount(network: "east", status: .running, count: 1),
                                           VMCount(network: "west", status: .running, count: 1)])
        }
    }

    @Test(arguments: Engine.allCases)
    func anIDAloneIsResolvedOnlyWhenOneNetworkHasIt(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            try store.provision(.sample("west", "shared"))
            try store.provision(.sample("east", "shared"))
            try store.provision(.sample("west", "alone"))
            let ambiguous = storeError { _ = try store.vm(.ref("shared")) }
            #expect(ambiguous?.code == .ambiguous)
            #expect(ambiguous?.networks == ["east", "west"])
            #expect(try store.vm(.ref("alone")).identity == .id("west", "alone"))
            #expect(storeError { _ = try store.vm(.ref("missing")) }?.code == .notFound)
            // A keyed write by id alone follows the same rule, and writes nothing when it refuses.
            #expect(storeError { try store.recordStatus(.stopped, for: .ref("shared")) }?.code == .ambiguous)
            #expect(try store.list(status: .stopped).isEmpty)
            #expect(try store.recordStatus(.stopped, for: .ref("alone")).changedRows == 1)
            #expect(try store.list(status: .stopped).map(\.identity) == [.id("west", "alone")])
        }
    }

    @Test(arguments: Engine.allCases)
    func eventsAreKeptInOrderAndGoWithTheirVM(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            try store.provision(.sample("main", "vm-1"))
            try store.provision(.sample("other", "vm-1"))
            let later = Engine.fixedNow.addingTimeInterval(60)
            try store.recordEvent("reboot", detail: "by operator", for: .ref("vm-1", "main"), at: later)
            try store.recordEvent("created", for: .ref("vm-1", "main"))
            try store.recordEvent("created", for: .ref("vm-1", "other"))
            #expect(try store.events(of: .ref("vm-1", "main")).map(\.kind) == ["created", "reboot"])
            #expect(try store.events(of: .ref("vm-1", "main")).last?.detail == "by operator")
            #expect(storeError { _ = try store.events(of: .ref("vm-1")) }?.code == .ambiguous)

            let deleted = try store.delete(.ref("vm-1", "main"))
            #expect(deleted.identity == .id("main", "vm-1"))
            #expect(try store.vm(.id("main", "vm-1")) == nil)
            #expect(storeError { _ = try store.delete(.ref("vm-1", "main")) }?.code == .notFound)
            // Its events went with it (ON DELETE CASCADE): the pair recorded again has none, and the
            // other network's VM kept its own.
            try store.provision(.sample("main", "vm-1"))
            #expect(try store.events(of: .ref("vm-1", "main")).isEmpty)
            #expect(try store.events(of: .ref("vm-1", "other")).map(\.kind) == ["created"])
        }
    }

    @Test(arguments: Engine.allCases)
    func keyedUpdatesChangeOneVM(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            try store.provision(.sample("main", "vm-1"))
            try store.provision(.sample("other", "vm-1"))
            #expect(try store.recordInstalledVersion("1.2.0", for: .ref("vm-1", "main")).changedRows == 1)
            #expect(try store.recordAvailableUpdate("1.3.0", for: .ref("vm-1", "main")).changedRows == 1)
            #expect(try store.recordUpdateCheck(for: .ref("vm-1", "main")).changedRows == 1)
            let main = try store.vm(.id("main", "vm-1"))
            #expect(main?.installedVersion == "1.2.0" && main?.availableVersion == "1.3.0")
            #expect(main?.updatesCheckedAt == Timestamp.string(from: Engine.fixedNow))
            #expect(try store.vm(.id("other", "vm-1"))?.installedVersion == nil)
            #expect(storeError { try store.recordInstalledVersion("1", for: .ref("vm-9", "main")) }?.code == .notFound)
        }
    }

    @Test(arguments: Engine.allCases)
    func aTransactionCommitsWholeOrNotAtAll(engine: Engine) async throws {
        struct Stop: Error {}
        try await engine.withStore { store, _ in
            #expect(throws: Stop.self) {
                try store.write { writer in
                    try writer.provision(.sample("main", "vm-1"))
                    try writer.recordEvent("created", for: .ref("vm-1", "main"))
                    let seen = try writer.vm(.id("main", "vm-1"))   // its own writes, seen inside
                    #expect(seen != nil)
                    throw Stop()
                }
            }
            #expect(try store.count() == 0)
            let both = try store.write { writer in
                [try writer.provision(.sample("main", "vm-1")), try writer.provision(.sample("main", "vm-2"))]
            }
            #expect(try store.list() == both)
        }
    }

    @Test(arguments: Engine.allCases)
    func aWriteThatWaitsPastTheBusyTimeoutIsBusyAndWritesNothing(engine: Engine) async throws {
        try await engine.withStore(busyTimeout: 0.2) { store, database in
            try store.provision(.sample("main", "vm-0"))
            let started = Date()
            let error = try database.holdingWriteLock {
                storeError { try store.provision(.sample("main", "vm-1")) }
            }
            #expect(error?.code == .busy)
            #expect(Date().timeIntervalSince(started) < 5)
            // Reads go on meanwhile, and the refused write left nothing.
            #expect(try store.list().map(\.vmID) == ["vm-0"])
            try store.provision(.sample("main", "vm-1"))
            #expect(try store.count() == 2)
        }
    }

    @Test(arguments: Engine.allCases)
    func aStoreReleasedWithoutClosingLeavesItsWritesAndItsConnectionsClean(engine: Engine) async throws {
        try await engine.withStore { store, database in
            do {
                let other = try database.openStore()
                try other.provision(.sample("main", "vm-1"))
                _ = try other.list()
            }   // released here, never closed
            #expect(try store.vm(.id("main", "vm-1")) != nil)
        }
    }

    @Test(arguments: Engine.allCases)
    func aNULInTextIsRefusedBeforeAnythingIsWritten(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            let error = storeError { try store.provision(.sample("main", "vm-1", name: "bad\0name")) }
            #expect(error?.code == .unstorableText)
            #expect(error?.column == "name")
            let count = try store.count()
            #expect(count == 0)
        }
    }

    @Test(arguments: Engine.allCases)
    func asyncFormsBehaveAsTheSynchronousOnes(engine: Engine) async throws {
        try await engine.withStore(async: { store, _ in
            let recorded = try await store.provision(.sample("main", "vm-1"))
            #expect(try await store.vm(.id("main", "vm-1")) == recorded)
            do {
                try await store.provision(.sample("main", "vm-1"))
                Issue.record("a duplicate pair was recorded")
            } catch let error as StoreError {
                #expect(error.code == .alreadyRecorded)
            }
            _ = try await store.write { try $0.recordEvent("created", for: .ref("vm-1", "main")) }
            #expect(try await store.events(of: .ref("vm-1")).map(\.kind) == ["created"])
            #expect(try await store.list().count == 1)
        })
    }
}
