import ArgumentParser

/// `vmdb-bench`: the measurements behind BENCHMARKS.md (see benchmarks/run).
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmdb-bench",
        abstract: "Measure vmdb against the floor (the sqlite3 CLI, the raw SQLite C API) on generated data.",
        subcommands: [StoreBenchmark.self, PostgresStoreBenchmark.self, RepairBenchmark.self, DeployerLoad.self])
}
