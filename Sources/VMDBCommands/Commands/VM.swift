import ArgumentParser

extension VMDB {
    /// `vmdb vm list|show|delete`: operator access to the store (issue 3).
    struct VM: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show and delete VM records, keyed on (network, vm_id).")
    }
}
