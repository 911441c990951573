import Foundation
import VMStore

/// Maps a daemon's VM entry to the store's columns, for recording an orphan
/// with what the daemon said. Only fields the daemon gives are filled; the
/// whole entry is kept, as it came, in the audit row.
enum DaemonFields {
    /// The status recorded when the daemon's entry has none: the VM exists, its state is not known.
    static let unknownStatus: VMStatus = "unknown"

    static func newVM(_ identity: VMIdentity, entry: String) throws -> NewVM {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(entry.utf8)) as? [String: Any] else {
                throw RepairError(.malformedInput, "the entry of \(identity) is not a JSON object")
            }
            object = parsed
        } catch let error as RepairError {
            throw error
        } catch {
            throw RepairError(.malformedInput, "the entry of \(identity) could not be read again (\(error))")
        }
        func text(_ keys: String...) -> String? {
            for key in keys {
                if let value = object[key] as? String { return value }
                if let value = object[key] as? NSNumber { return value.stringValue }
            }
            return nil
        }
        func integer(_ keys: String...) -> Int64? {
            for key in keys {
                if let value = object[key] as? String, let number = Int64(value) { return number }
                if let value = object[key] as? NSNumber, let number = Int64(exactly: value.doubleValue) { return number }
            }
            return nil
        }
        return NewVM(
            identity: identity,
            name: text("name") ?? "",
            nodeID: integer("node_id", "node"),
            contractID: integer("contract_id", "contract"),
            twinID: integer("twin_id", "twin"),
            status: text("status").map(VMStatus.init(rawValue:)) ?? unknownStatus,
            ipv4: text("ipv4"),
            ipv6: text("ipv6"),
            myceliumIP: text("mycelium_ip", "mycelium"),
            flist: text("flist"),
            cpu: integer("cpu"),
            memoryMB: integer("memory_mb"),
            diskGB: integer("disk_gb"))
    }
}
