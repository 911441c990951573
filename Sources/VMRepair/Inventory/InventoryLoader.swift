import GRDB
import VMStore

/// Streams one inventory (a file or a daemon's answer) into the temporary
/// inventory table, checking each entry's id, and settles its network.
struct InventoryLoader {
    /// `file PATH` or `daemon ENDPOINT`: names the inventory in errors and audit rows.
    let label: String
    /// The file the document is read from (a daemon's answer is saved to one first).
    let path: String
    /// The network known before reading (the operator's --network, or the daemon's configured one).
    let statedNetwork: String?
    /// A network the document may not contradict (a daemon's configured network).
    let requiredNetwork: String?
    let idField: IDFieldRule
    /// A daemon's answer must be a JSON-RPC response; its failures are the daemon's (exit 69), not the operator's input (65).
    let isDaemonAnswer: Bool
    var daemon: DaemonConfiguration.Daemon?

    func load(_ reader: inout JSONByteReader, into table: InventoryTable, _ db: Database) throws -> RepairReport.Source {
        var loaded: RepairReport.Source?
        try db.inTransaction(.deferred) {
            let source = try table.addSource(label: label, path: path, network: statedNetwork)
            let summary: InventoryDocumentReader.Summary
            do {
                summary = try InventoryDocumentReader(idField: idField).read(&reader) { entry in
                    do {
                        try VMIdentity.validate(vmID: entry.vmID)
                    } catch let error as StoreError {
                        throw InventoryDocumentReader.ShapeError(reason: "holds VM #\(entry.index + 1) with an id that cannot be recorded (\(error))")
                    }
                    try table.add(entry, to: source)
                }
            } catch let error as JSONByteReader.SyntaxError {
                throw failure("is not valid JSON: \(error)")
            } catch let error as InventoryDocumentReader.ShapeError {
                throw failure(error.reason)
            }
            if let rpcError = summary.rpcError {
                throw failure("holds a JSON-RPC error instead of a result: code \(rpcError.code), \"\(rpcError.message)\"")
            }
            if isDaemonAnswer, summary.jsonRPCVersion != "2.0" {
                throw failure("is not a JSON-RPC 2.0 response (no \"jsonrpc\": \"2.0\")")
            }
            let network = try settleNetwork(documentNetwork: summary.network)
            try table.finish(source, network: network, entries: summary.entryCount)
            loaded = RepairReport.Source(label: label, network: network, entries: summary.entryCount)
            return .commit
        }
        guard let loaded else { throw RepairError(.internalFailure, "\(label) was read but not recorded: this is a bug, please report it") }
        return loaded
    }

    /// The document's own network wins over --network only when they agree: never a guess.
    private func settleNetwork(documentNetwork: String?) throws -> String {
        if let documentNetwork {
            do {
                try VMIdentity.validate(network: documentNetwork)
            } catch {
                throw failure("states network \"\(documentNetwork)\", which is not a valid network name (\(error))")
            }
            if let requiredNetwork, requiredNetwork != documentNetwork {
                throw failure("says it serves network \(documentNetwork), but the daemons config names it for \(requiredNetwork): fix the config")
            }
            if let statedNetwork, statedNetwork != documentNetwork {
                throw RepairError(.usage, "\(label) states network \(documentNetwork), but --network \(statedNetwork) was given: drop --network, or give the right file")
            }
            return documentNetwork
        }
        guard let statedNetwork else {
            throw RepairError(.usage, "\(label) does not state its network: give it with --network NAME (main, test, qa, dev); vmdb never guesses it")
        }
        // The library checks the operator's network by the store's rule too: a caller
        // other than the CLI must not record orphans no lookup by pair can reach.
        do {
            try VMIdentity.validate(network: statedNetwork)
        } catch {
            throw RepairError(.usage, "--network \"\(statedNetwork)\" is not a network name (\(error)): give one such as main, test, qa or dev")
        }
        return statedNetwork
    }

    private func failure(_ reason: String) -> RepairError {
        if let daemon, isDaemonAnswer {
            return RepairError(.daemonUnavailable, "\(DaemonClient.describe(daemon)) answered \(DaemonClient.method), but its answer \(reason). Nothing was changed")
        }
        return RepairError(.malformedInput, "the inventory \(label.hasPrefix("file ") ? String(label.dropFirst(5)) : label) \(reason). Nothing was used or changed")
    }
}
