import ArgumentParser

/// Store throughput against the raw SQLite C API (issue 3).
struct StoreBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "Store operations vs prepared statements.")
}
