import ArgumentParser

extension VMDB {
    /// `vmdb snapshots verify|capture` (issue 6).
    struct Snapshots: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Migrate the fixture snapshots and compare them with their expected results; capture new ones.")
    }
}
