import Foundation
import GRDB
import MigrationKit
import VMDBTestSupport
import VMRepair
import VMStore

/// A v3 database in a per-test folder, with helpers to fill it, to write
/// inventories and daemons configs, and to run `vmdb` as an operator would.
struct RepairFixture {
    let directory: TemporaryDirectory
    let path: String

    init(label: String = "repair") throws {
        directory = try TemporaryDirectory(label)
        path = try Fixtures.database(version: 3, in: directory)
    }

    /// Records VMs through the store, as the deployer provisions them.
    func provision(_ vms: [NewVM]) throws {
        let store = try VMStore(path: path)
        defer { try? store.close() }
        try store.write { writer in
            for vm in vms { try writer.provision(vm) }
        }
    }

    /// Writes `text` to a new file in the folder and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = directory.file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A daemons config naming `daemons` as (network, endpoint).
    func daemonsConfig(_ daemons: [(network: String, endpoint: String)], timeout: Double = 10, name: String = "daemons.json") throws -> String {
        let list = daemons.map { ["network": $0.network, "endpoint": $0.endpoint] }
        let data = try JSONSerialization.data(withJSONObject: ["timeout_seconds": timeout, "daemons": list] as [String: Any])
        return try file(name, String(decoding: data, as: UTF8.self))
    }

    func queue() throws -> DatabaseQueue { try DatabaseQueue(path: path) }

    /// Every row of `vms` as text, in order: to prove a run left the records as they were.
    func vmRows() throws -> [[String?]] {
        try queue().read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM vms ORDER BY network, vm_id").map { row in
                row.databaseValues.map { $0.isNull ? nil : String(describing: $0) }
            }
        }
    }

    func auditRows() throws -> [Row] {
        try queue().read { db in try Row.fetchAll(db, sql: "SELECT * FROM vm_repairs ORDER BY id") }
    }

    func session(apply: Bool = false, idField: String? = nil) -> RepairSession {
        var options = RepairOptions()
        options.apply = apply
        options.idField = idField
        options.backupDirectory = directory.path
        return RepairSession(databasePath: path, options: options)
    }
}

/// A clock a test moves: `start` plus the seconds set.
final class TestClock: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private let start: Date
    private var seconds = 0.0

    init(start: Date) { self.start = start }

    var now: Date { lock.withLock { start.addingTimeInterval(seconds) } }
    func set(_ value: Double) { lock.withLock { seconds = value } }
}

/// A daemon's VM entry as JSON text, built by JSONSerialization (so any string is escaped correctly).
func vmEntry(_ id: String, name: String? = nil, status: String? = "running", node: Int? = nil, contract: Int? = nil,
             idKey: String = "vm_id", extra: [String: Any] = [:]) -> String {
    var object: [String: Any] = [idKey: id]
    if let name { object["name"] = name }
    if let status { object["status"] = status }
    if let node { object["node_id"] = node }
    if let contract { object["contract_id"] = contract }
    for (key, value) in extra { object[key] = value }
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// A saved `list_vms` answer.
func inventoryDocument(_ entries: [String], network: String? = nil) -> String {
    let list = "[" + entries.joined(separator: ",") + "]"
    if let network { return #"{"jsonrpc":"2.0","id":1,"result":{"network":"\#(network)","vms":\#(list)}}"# }
    return #"{"jsonrpc":"2.0","id":1,"result":\#(list)}"#
}

extension NewVM {
    static func vm(_ network: String, _ id: String, name: String? = nil, status: VMStatus = .running, node: Int64? = nil, contract: Int64? = nil) -> NewVM {
        NewVM(identity: try! VMIdentity(network: network, vmID: id), name: name ?? "vm-\(id)", nodeID: node, contractID: contract, status: status)
    }
}

/// Runs the built `vmdb`, waiting for it on a thread of its own rather than on the cooperative pool.
func runVMDB(_ arguments: [String]) async throws -> VMDBProcess.Result {
    try await offThePool { try VMDBProcess.run(arguments) }
}

/// Decodes `vmdb --format json` output.
func jsonObject(_ text: String) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        throw CocoaError(.coderReadCorrupt)
    }
    return object
}
