import ArgumentParser

extension VMDB {
    /// `vmdb repair`: orphans, ghosts and drift (issue 5).
    struct Repair: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare daemon inventories with the store; report orphans, ghosts and drift; record orphans with --apply.")
    }
}
