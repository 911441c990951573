/// Reads for tools that compare the whole store with something else (repair, with the daemons'
/// inventories), on any engine.
extension VMStore {
    /// The store's SQLite file, when it is on one: a tool that reads the file itself (repair's
    /// analysis, in SQL beside its own temporary tables) needs no copy of the records.
    package var sqliteFilePath: String? {
        (engine as? SQLiteStoreEngine)?.location
    }

    /// Every VM, one network at a time in (network, vm_id) order, then every provision intent (nil
    /// below v4, which has none), all read in one snapshot: a deployer writing meanwhile changes
    /// none of it. Memory holds one network's records at a time.
    package func readEverything(vms: ([VMRecord]) throws -> Void, intents: ([ProvisionIntent]?) throws -> Void) throws {
        try engine.read(snapshot: true) { statements in
            for network in try statements.networks() {
                try vms(try statements.list(network: network, status: nil))
            }
            let hasIntents: Bool
            do {
                try statements.requireIntents()
                hasIntents = true
            } catch let error as StoreError where error.code == .schemaTooOld {
                hasIntents = false
            }
            try intents(hasIntents ? try statements.intents(state: nil, network: nil, createdBefore: nil, limit: nil) : nil)
        }
    }
}
