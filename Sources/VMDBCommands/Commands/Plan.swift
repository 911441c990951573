import ArgumentParser
import MigrationKit
import MigrationKitPostgres

extension VMDB {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the exact SQL `migrate` would run, bookkeeping included. Changes nothing.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: "Plan up to this version (default: the latest).")
        var version: Int?

        @Option(help: ArgumentHelp("The network `migrate` would be given for VMs that have none: the plan checks the rows against it as migrate does.", valueName: "name"))
        var defaultNetwork: String?

        func validate() throws {
            if let defaultNetwork { try NetworkName.validate(defaultNetwork, option: "--default-network") }
        }

        func run() async throws {
            let plan = switch try database.location() {
            case .file(let path):
                try VMDB.migrator.plan(path: path, to: version, parameters: defaultNetwork.map { ["default_network": $0] } ?? [:])
            case .postgres(let location):
                try await VMDB.postgresMigrator.plan(location, to: version)
            }
            try output.emit(plan) { Self.sql(plan) }
        }

        static func sql(_ plan: MigrationPlan) -> String {
            var text = "-- vmdb plan for \(plan.path): version \(plan.fromVersion) -> \(plan.toVersion)\n"
            if let baseline = plan.baselinedVersion {
                text += "-- no history yet: versions 1…\(baseline) are recorded (baseline) in the first transaction\n"
            }
            if !plan.parameters.isEmpty {
                text += "-- bound parameters: \(plan.parameters.map { ":" + $0 }.joined(separator: ", ")) (from --\(plan.parameters[0].replacingOccurrences(of: "_", with: "-")))\n"
            }
            for note in plan.notRehearsed ?? [] { text += "-- warning: \(note)\n" }
            if plan.migrations.isEmpty { text += "-- nothing to do\n" }
            for migration in plan.migrations {
                text += "\n-- migration \(migration.version) (\(migration.name)), checksum \(migration.checksum)\n"
                text += migration.statements.map { $0.hasSuffix(";") ? $0 : $0 + ";" }.joined(separator: "\n") + "\n"
            }
            return text
        }
    }
}
