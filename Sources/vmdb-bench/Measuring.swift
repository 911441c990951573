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
