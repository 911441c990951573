/// Counts per label, printed at the end of a test for RELIABILITY.md.
struct Tally {
    private(set) var counts: [String: Int] = [:]
    mutating func add(_ label: String) { counts[label, default: 0] += 1 }
    var total: Int { counts.values.reduce(0, +) }
    var summary: String { counts.keys.sorted().map { "\($0): \(counts[$0]!)" }.joined(separator: ", ") }
}
