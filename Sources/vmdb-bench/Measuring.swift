import ArgumentParser
import VMStore

/// How long `body` took.
func elapsed(_ body: () throws -> Void) throws -> Duration {
    try ContinuousClock().measure(body)
}

/// The best of `rounds` runs of each side, store and raw taking turns (the machine may be shared:
/// both see the same conditions).
func alternating(_ name: String, count: Int, rounds: Int, store: () throws -> Void, raw: () throws -> Void) throws -> StoreBenchmark.Measurement {
    var best = (store: Duration.seconds(1_000_000), raw: Duration.seconds(1_000_000))
    for _ in 0..<max(1, rounds) {
        best.store = min(best.store, try elapsed(store))
        best.raw = min(best.raw, try elapsed(raw))
    }
    return StoreBenchmark.Measurement(name: name, count: count, store: best.store, raw: best.raw)
}

/// The same statements as the store's, written by hand against one engine's own API (the floor).
protocol RawVMQueries {
    func vm(_ identity: VMIdentity) throws -> RawStore.Row?
    func vms(withID id: String) throws -> [RawStore.Row]
}

extension RawStore: RawVMQueries {}
extension RawPostgres: RawVMQueries {}

/// The read phase both store benchmarks share: both sides hold the same rows (checked first), then
/// each lookup, store and raw taking turns.
func readMeasurements(store: VMStore, raw: some RawVMQueries, data: BenchData, rounds: Int) throws -> [StoreBenchmark.Measurement] {
    for identity in data.pairLookups.prefix(1_000) {
        let fromStore = try store.vm(identity)
        let fromRaw = try raw.vm(identity)
        guard fromStore?.name == fromRaw?.name, fromStore?.metadata == fromRaw?.metadata, fromStore != nil else {
            throw ValidationError("store and raw disagree on \(identity)")
        }
    }
    var results: [StoreBenchmark.Measurement] = []
    results.append(try alternating("lookup by (network, vm_id)", count: data.pairLookups.count, rounds: rounds, store: {
        for identity in data.pairLookups {
            guard try store.vm(identity) != nil else { throw ValidationError("missing \(identity)") }
        }
    }, raw: {
        for identity in data.pairLookups {
            guard try raw.vm(identity) != nil else { throw ValidationError("missing \(identity)") }
        }
    }))
    let references = try data.idLookups.map { try VMReference(vmID: $0) }
    results.append(try alternating("lookup by id alone (one network has it)", count: references.count, rounds: rounds, store: {
        for reference in references { _ = try store.vm(reference) }
    }, raw: {
        for id in data.idLookups {
            guard try raw.vms(withID: id).count == 1 else { throw ValidationError("\(id) is not on exactly one network") }
        }
    }))
    return results
}
