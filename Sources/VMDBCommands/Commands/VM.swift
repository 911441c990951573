import ArgumentParser
import Foundation
import VMStore

extension VMDB {
    /// `vmdb vm list|show|delete`: operator access to the store, always keyed on (network, vm_id).
    struct VM: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show and delete VM records, keyed on (network, vm_id).",
            discussion: """
                A VM is named by its network and its id: `vmdb vm show 005o --network qa`, or \
                `vmdb vm show qa/005o`. An id alone is enough when exactly one network has it; when \
                several do, the command fails (exit 64) naming them, and never guesses.
                """,
            subcommands: [List.self, Show.self, Delete.self, Intents.self])
    }
}

// MARK: Shared options

extension VMDB.VM {
    /// The VM a command works on: `ID [--network N]`, or `network/vm_id`.
    struct ReferenceOptions: ParsableArguments {
        @Argument(help: ArgumentHelp(
            "The VM: its id as the daemon gave it (such as 005o), or network/vm_id (such as qa/005o).",
            discussion: "With --network, the argument is taken as the raw id, even if it contains '/'.",
            valueName: "vm"))
        var vm: String

        @Option(help: ArgumentHelp("The network the VM belongs to (needed when several networks have the id).", valueName: "network"))
        var network: String?

        func validate() throws {
            _ = try reference()
        }

        /// The reference the arguments name; invalid parts are a usage error (exit 64).
        func reference() throws -> VMReference {
            do {
                if let network {
                    try NetworkName.validate(network, option: "--network")
                    return try VMReference(vmID: vm, network: network)
                }
                if vm.contains("/") {
                    return try VMIdentity.parse(vm).reference
                }
                return try VMReference(vmID: vm)
            } catch let error as StoreError {
                throw ValidationError("\(error.description) (VM argument: give an id such as 005o, or network/vm_id such as qa/005o)")
            }
        }
    }
}

// MARK: list

extension VMDB.VM {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the recorded VMs, by network and status.",
            discussion: "Sorted by network, then vm id. JSON: {\"count\": N, \"vms\": [record, …]} with every column.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(help: ArgumentHelp("Only VMs on this network.", valueName: "network"))
        var network: String?

        @Option(help: ArgumentHelp("Only VMs with this status (provisioning, running, stopped, error, deleted, …).", valueName: "status"))
        var status: String?

        func validate() throws {
            if let network { try NetworkName.validate(network, option: "--network") }
            if let status, status.isEmpty { throw ValidationError("--status must not be empty") }
        }

        func run() throws {
            struct Listing: Encodable { let count: Int; let vms: [VMRecord] }
            let store = try database.openStore()
            defer { try? store.close() }
            let records = try store.list(network: network, status: status.map(VMStatus.init(rawValue:)))
            try output.emit(Listing(count: records.count, vms: records)) { text(records) }
        }

        private func text(_ records: [VMRecord]) -> String {
            var filters: [String] = []
            if let network { filters.append("on network \(Display.safe(network))") }
            if let status { filters.append("with status \(Display.safe(status))") }
            let scope = filters.isEmpty ? "" : " " + filters.joined(separator: " ")
            guard !records.isEmpty else { return "no VMs recorded\(scope)\n" }
            let rows = records.map { record in
                [record.network, record.vmID, record.name, record.status.rawValue,
                 record.nodeID.map(String.init) ?? "-", record.installedVersion ?? "-", record.origin.rawValue].map(Display.safe)
            }
            var out = Display.table(header: ["NETWORK", "VM ID", "NAME", "STATUS", "NODE", "VERSION", "ORIGIN"], rows: rows)
            out += "\(records.count) VM\(records.count == 1 ? "" : "s")\(scope)\n"
            return out
        }
    }
}

// MARK: show

extension VMDB.VM {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one VM record and its events.",
            discussion: "Exit 65 when no VM matches; 64 when the id alone exists on several networks (the message names them). JSON: {\"vm\": record, \"events\": […]}.")

        @OptionGroup var target: ReferenceOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            struct Shown: Encodable { let vm: VMRecord; let events: [VMEvent] }
            let store = try database.openStore()
            defer { try? store.close() }
            let record = try store.vm(try target.reference())
            let events = try store.events(of: record.identity.reference)
            try output.emit(Shown(vm: record, events: events)) { Self.text(record, events: events) }
        }

        static func text(_ record: VMRecord, events: [VMEvent]) -> String {
            var out = Display.fields(record)
            if events.isEmpty {
                out += "events: none\n"
            } else {
                out += "events:\n"
                for event in events {
                    out += "  \(Display.safe(event.at))  \(Display.safe(event.kind))\(event.detail.map { "  " + Display.safe($0) } ?? "")\n"
                }
            }
            return out
        }
    }
}

// MARK: delete

extension VMDB.VM {
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete one VM record (its events go with it).",
            discussion: """
                Removes the record only: the VM on the grid is not touched (delete it on its daemon). \
                The deleted record is printed in full, so it can be recorded again. Keyed on \
                (network, vm_id): a VM with the same id on another network is never touched. \
                Exit 65 when no VM matches; 64 when the id alone exists on several networks.
                """)

        @OptionGroup var target: ReferenceOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            struct Deleted: Encodable { let deleted: VMRecord }
            let store = try database.openStore()
            defer { try? store.close() }
            let record = try store.delete(try target.reference())
            try output.emit(Deleted(deleted: record)) {
                "deleted VM \(Display.safe(record.identity.description)) (\(Display.safe(record.name)), status \(Display.safe(record.status.rawValue))); the record was:\n" + Display.fields(record)
            }
        }
    }
}

// MARK: Human output

/// Text rendering for VM records: values as stored, made safe for a terminal.
enum Display {
    /// `text` with control characters shown as `\u{…}`: a stored value must not
    /// move the cursor or recolour an operator's terminal.
    static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }

    static func table(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ") + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    static func fields(_ record: VMRecord) -> String {
        let fields: [(String, String?)] = [
            ("identity", record.identity.description), ("network", record.network), ("vm id", record.vmID),
            ("name", record.name), ("status", record.status.rawValue), ("origin", record.origin.rawValue),
            ("node", record.nodeID.map(String.init)), ("contract", record.contractID.map(String.init)),
            ("twin", record.twinID.map(String.init)), ("ipv4", record.ipv4), ("ipv6", record.ipv6),
            ("mycelium ip", record.myceliumIP), ("flist", record.flist), ("cpu", record.cpu.map(String.init)),
            ("memory", record.memoryMB.map { "\($0) MB" }), ("disk", record.diskGB.map { "\($0) GB" }),
            ("installed version", record.installedVersion), ("available update", record.availableVersion),
            ("updates checked", record.updatesCheckedAt), ("created", record.createdAt), ("updated", record.updatedAt),
            ("metadata", record.metadata), ("row id", String(record.rowID)),
        ]
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { name, value in
            name + ":" + String(repeating: " ", count: width - name.count + 1) + safe(value ?? "-") + "\n"
        }.joined()
    }
}
