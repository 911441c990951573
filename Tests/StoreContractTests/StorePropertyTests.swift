import Foundation
import PropertyBased
import Testing
import VMStore

/// Random sequences of operations on several networks, run against the store
/// and against a plain dictionary keyed on the pair: every outcome must agree,
/// on every engine.
@Suite struct StorePropertyTests {
    /// A small id space, so the same ids land on several networks often.
    static let networks = ["main", "qa", "test"]
    static let ids = ["005o", "0069", "a'b\"; --", "x/y"]

    enum Operation: Sendable, CustomStringConvertible {
        case provision(network: String, id: String)
        case lookupPair(network: String, id: String)
        case lookupID(id: String)
        case update(id: String, network: String?, version: String)
        case setStatus(id: String, network: String?, status: VMStatus)
        case delete(id: String, network: String?)
        case count(network: String?)

        var description: String {
            switch self {
            case .provision(let network, let id): "provision \(network)/\(id)"
            case .lookupPair(let network, let id): "lookup \(network)/\(id)"
            case .lookupID(let id): "lookup \(id)"
            case .update(let id, let network, let version): "update \(id) --network \(network ?? "-") \(version)"
            case .setStatus(let id, let network, let status): "status \(id) --network \(network ?? "-") \(status)"
            case .delete(let id, let network): "delete \(id) --network \(network ?? "-")"
            case .count(let network): "count \(network ?? "all")"
            }
        }
    }

    /// Shrinks toward provision on the first network with the first id.
    static let operation = zip(Gen.int(in: 0...6), Gen.int(in: 0...3), Gen.int(in: 0...3), Gen.int(in: 0...2)).map {
        kind, networkIndex, idIndex, extra -> Operation in
        let id = ids[idIndex]
        let network = networks[networkIndex % networks.count]
        let maybeNetwork = networkIndex < networks.count ? network : nil   // index 3: no network
        switch kind {
        case 0: return .provision(network: network, id: id)
        case 1: return .lookupPair(network: network, id: id)
        case 2: return .lookupID(id: id)
        case 3: return .update(id: id, network: maybeNetwork, version: "1.\(extra)")
        case 4: return .setStatus(id: id, network: maybeNetwork, status: [.running, .stopped, .error][extra])
        case 5: return .delete(id: id, network: maybeNetwork)
        default: return .count(network: maybeNetwork)
        }
    }

    /// The store's rules, written as plainly as possible.
    struct Model {
        struct VM: Equatable { var status: VMStatus; var availableVersion: String? }
        var vms: [VMIdentity: VM] = [:]

        enum Outcome: Equatable, Error {
            case record(VMIdentity, VM)
            case absent
            case changed(VMIdentity)
            case count(Int)
            case failed(String, networks: [String])
        }

        func resolve(_ id: String, _ network: String?) -> Result<VMIdentity, Outcome> {
            if let network {
                let identity = VMIdentity.id(network, id)
                return vms[identity] == nil ? .failure(.failed("notFound", networks: [])) : .success(identity)
            }
            let matches = vms.keys.filter { $0.vmID.utf8.elementsEqual(id.utf8) }.sorted()
            switch matches.count {
            case 0: return .failure(.failed("notFound", networks: []))
            case 1: return .success(matches[0])
            default: return .failure(.failed("ambiguous", networks: matches.map(\.network)))
            }
        }

        mutating func apply(_ operation: Operation) -> Outcome {
            switch operation {
            case .provision(let network, let id):
                let identity = VMIdentity.id(network, id)
                if vms[identity] != nil { return .failed("alreadyRecorded", networks: []) }
                vms[identity] = VM(status: .running, availableVersion: nil)
                return .changed(identity)
            case .lookupPair(let network, let id):
                let identity = VMIdentity.id(network, id)
                return vms[identity].map { .record(identity, $0) } ?? .absent
            case .lookupID(let id):
                switch resolve(id, nil) {
                case .success(let identity): return .record(identity, vms[identity]!)
                case .failure(let outcome): return outcome
                }
            case .update(let id, let network, let version):
                switch resolve(id, network) {
                case .success(let identity):
                    vms[identity]!.availableVersion = version
                    return .changed(identity)
                case .failure(let outcome): return outcome
                }
            case .setStatus(let id, let network, let status):
                switch resolve(id, network) {
                case .success(let identity):
                    vms[identity]!.status = status
                    return .changed(identity)
                case .failure(let outcome): return outcome
                }
            case .delete(let id, let network):
                switch resolve(id, network) {
                case .success(let identity):
                    vms[identity] = nil
                    return .changed(identity)
                case .failure(let outcome): return outcome
                }
            case .count(let network):
                return .count(vms.keys.filter { network == nil || $0.network == network }.count)
            }
        }
    }

    static func run(_ operation: Operation, on store: VMStore) -> Model.Outcome {
        func model(_ record: VMRecord) -> Model.Outcome {
            .record(record.identity, Model.VM(status: record.status, availableVersion: record.availableVersion))
        }
        do {
            switch operation {
            case .provision(let network, let id):
                return .changed(try store.provision(.sample(network, id, status: .running)).identity)
            case .lookupPair(let network, let id):
                return try store.vm(.id(network, id)).map(model) ?? .absent
            case .lookupID(let id):
                return model(try store.vm(.ref(id)))
            case .update(let id, let network, let version):
                return .changed(try store.recordAvailableUpdate(version, for: .ref(id, network)).identity)
            case .setStatus(let id, let network, let status):
                return .changed(try store.recordStatus(status, for: .ref(id, network)).identity)
            case .delete(let id, let network):
                return .changed(try store.delete(.ref(id, network)).identity)
            case .count(let network):
                return .count(try store.count(network: network))
            }
        } catch let error as StoreError {
            return .failed(error.code.description, networks: error.networks)
        } catch {
            return .failed("unexpected: \(error)", networks: [])
        }
    }

    @Test(arguments: Engine.allCases)
    func randomOperationSequencesAgreeWithAnInMemoryModel(engine: Engine) async throws {
        try await engine.withStore(async: { store, database in
            await propertyCheck(count: 60, input: Self.operation.array(of: 1...40)) { operations in
                // Each sequence starts from no VM: emptied, not recreated (a PostgreSQL database per
                // sequence would cost seconds).
                try database.empty()
                var model = Model()
                for (step, operation) in operations.enumerated() {
                    let expected = model.apply(operation)
                    let actual = Self.run(operation, on: store)
                    #expect(actual == expected, "step \(step): \(operation)")
                    if actual != expected { return }
                }
                // And the whole table equals the model at the end.
                let stored = try store.list()
                #expect(stored.map(\.identity) == model.vms.keys.sorted())
                for record in stored {
                    #expect(model.vms[record.identity] == Model.VM(status: record.status, availableVersion: record.availableVersion))
                }
            }
        })
    }
}
