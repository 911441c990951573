import Foundation
import Testing
import VMStore

/// Provision intents (schema v4), the same on every engine.
@Suite struct ProvisionIntentContractTests {
    static let request = try! ProvisionRequest(network: "main", requestID: "req-1", name: "web-1", nodeID: 11, cpu: 2, memoryMB: 4096, diskGB: 50)

    @Test(arguments: Engine.allCases)
    func beginThenCompleteRecordsTheVMAndClosesTheIntent(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            let begun = try store.beginProvision(Self.request, owner: "deployer-a", lease: 60)
            #expect(begun.state == .pending && begun.leaseOwner == "deployer-a")
            #expect(try store.openProvisionIntents().map(\.requestID) == ["req-1"])
            // A retry of the same request is the same intent, not a second one.
            #expect(try store.beginProvision(Self.request, owner: "deployer-b", lease: 60).leaseOwner == "deployer-b")
            #expect(try store.provisionIntents().count == 1)

            let record = try store.completeProvision(requestID: "req-1", vm: .sample("main", "vm-1"))
            #expect(record.identity == .id("main", "vm-1"))
            #expect(try store.vm(.id("main", "vm-1")) == record)
            let closed = try store.provisionIntent(network: "main", requestID: "req-1")
            #expect(closed?.state == .recorded && closed?.vmID == "vm-1" && closed?.leaseOwner == nil)
            #expect(try store.openProvisionIntents().isEmpty)
            #expect(try store.provisionIntents(state: .recorded).map(\.requestID) == ["req-1"])
            #expect(try store.provisionIntentCounts() == [.recorded: 1])
            // Idempotent: completed again, the same record, nothing written.
            #expect(try store.completeProvision(requestID: "req-1", vm: .sample("main", "vm-1")) == record)
            // Another vm id for the same request is a conflict, and nothing changes.
            #expect(storeError { try store.completeProvision(requestID: "req-1", vm: .sample("main", "vm-2")) }?.code == .intentConflict)
            #expect(try store.vm(.id("main", "vm-2")) == nil)
            // A recorded VM's intent cannot be failed.
            #expect(storeError { try store.failProvision(network: "main", requestID: "req-1", reason: "no") }?.code == .intentConflict)
        }
    }

    @Test(arguments: Engine.allCases)
    func aFailedProvisionIsClosedWithItsReason(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            try store.beginProvision(Self.request, owner: "deployer-a")
            let failed = try store.failProvision(network: "main", requestID: "req-1", reason: "node 11 is full")
            #expect(failed.state == .failed && failed.detail == "node 11 is full" && failed.leaseOwner == nil)
            #expect(try store.provisionIntent(network: "main", requestID: "req-1") == failed)
            #expect(try store.failProvision(network: "main", requestID: "req-1", reason: "again") == failed)
            #expect(try store.count() == 0)
            #expect(storeError { try store.failProvision(network: "main", requestID: "req-9", reason: "no") }?.code == .intentNotFound)
            #expect(storeError { try store.completeProvision(requestID: "req-9", vm: .sample("main", "vm-9")) }?.code == .intentNotFound)
        }
    }

    @Test(arguments: Engine.allCases)
    func aRequestIDNamesOneRequestPerNetwork(engine: Engine) async throws {
        try await engine.withStore { store, _ in
            try store.beginProvision(Self.request, owner: "deployer-a")
            var other = Self.request
            other.name = "web-2"
            other.cpu = 4
            let error = storeError { try store.beginProvision(other, owner: "deployer-a") }
            #expect(error?.code == .requestIDReused)
            #expect(error?.fields.sorted() == ["cpu", "name"])
            #expect(try store.provisionIntent(network: "main", requestID: "req-1")?.request == Self.request)
            // The same request id on another network is another request.
            var elsewhere = Self.request
            elsewhere.network = "other"
            try store.beginProvision(elsewhere, owner: "deployer-a")
            #expect(try store.provisionIntents().map(\.network).sorted() == ["main", "other"])
            #expect(try store.provisionIntents(network: "other").count == 1)
        }
    }

    @Test(arguments: Engine.allCases)
    func onVersion3IntentsSayTheVersionTheyNeedAndEverythingElseWorks(engine: Engine) async throws {
        try await engine.withStore(version: 3) { store, _ in
            #expect(store.databaseSchemaVersion == 3)
            let error = storeError { try store.beginProvision(Self.request, owner: "deployer-a") }
            #expect(error?.code == .schemaTooOld)
            #expect(error?.versions?.found == 3 && error?.versions?.expected == 4)
            #expect(storeError { _ = try store.provisionIntents() }?.code == .schemaTooOld)
            try store.provision(.sample("main", "vm-1"))
            try store.recordEvent("created", for: .ref("vm-1"))
            #expect(try store.events(of: .ref("vm-1", "main")).count == 1)
        }
    }
}
