import ArgumentParser
import Foundation
import VMStore

// MARK: intents

extension VMDB.VM {
    /// `vmdb vm intents`: the provision intents (schema v4), open ones by default.
    struct Intents: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List provision intents: the creates a deployer began and has not closed.",
            discussion: """
                A deployer on the store writes an intent before it asks a daemon for a VM, and closes it \
                when it records the VM (or the daemon refuses). An intent still pending after its lease \
                ran out is an interrupted provision: `vmdb repair --daemons … --apply` adopts its VM or, \
                after two scans that miss it, abandons it. By default only pending intents are listed \
                (oldest first); --state all lists every one. JSON: {"count": N, "states": {state: N}, \
                "intents": […]}. A database below version 4 has none (exit 65: migrate).
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("Only intents on this network.", valueName: "network"))
        var network: String?

        @Option(help: ArgumentHelp("pending (default), recorded, failed, adopted, abandoned, or all.", valueName: "state"))
        var state = "pending"

        @Option(help: ArgumentHelp("Only intents begun at least this many seconds ago.", valueName: "seconds"))
        var olderThan: Double = 0

        func validate() throws {
            if let network { try NetworkName.validate(network, option: "--network") }
            guard state == "all" || ProvisionState(rawValue: state) != nil else {
                throw ValidationError("--state must be one of \((ProvisionState.allCases.map(\.rawValue) + ["all"]).joined(separator: ", "))")
            }
            guard olderThan >= 0, olderThan.isFinite else { throw ValidationError("--older-than must be 0 or more seconds") }
        }

        func run() throws {
            struct Listing: Encodable { let count: Int; let states: [String: Int]; let intents: [ProvisionIntent] }
            let store = try database.openStore()
            defer { try? store.close() }
            let before = Timestamp.string(from: Date().addingTimeInterval(-olderThan + 1))
            let intents = try store.provisionIntents(state: ProvisionState(rawValue: state), network: network, createdBefore: before)
            let states = Dictionary(uniqueKeysWithValues: try store.provisionIntentCounts().map { ($0.key.rawValue, $0.value) })
            try output.emit(Listing(count: intents.count, states: states, intents: intents)) { text(intents, states: states) }
        }

        private func text(_ intents: [ProvisionIntent], states: [String: Int]) -> String {
            let summary = ProvisionState.allCases.map { "\($0.rawValue) \(states[$0.rawValue] ?? 0)" }.joined(separator: ", ")
            guard !intents.isEmpty else { return "no \(state == "all" ? "" : state + " ")provision intents\(network.map { " on network \(Display.safe($0))" } ?? "") (all: \(summary))\n" }
            let rows = intents.map { intent in
                [intent.network, intent.requestID, intent.request.name, intent.state.rawValue, intent.vmID ?? "-", intent.createdAt,
                 intent.leaseExpiresAt.map { "\(intent.leaseOwner ?? "?") until \($0)" } ?? "-", intent.firstMissedAt ?? "-"].map(Display.safe)
            }
            var out = Display.table(header: ["NETWORK", "REQUEST ID", "NAME", "STATE", "VM ID", "BEGUN", "LEASE", "FIRST MISSED"], rows: rows)
            out += "\(intents.count) intent\(intents.count == 1 ? "" : "s") listed (all: \(summary))\n"
            return out
        }
    }
}
