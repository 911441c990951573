/// The store's statements on one connection, inside one read or one write transaction, as one
/// engine runs them: each keyed on the pair, every value bound. An engine's errors come out as
/// ``StoreError``s (a duplicate pair as `alreadyRecorded`, whatever the engine's code for it).
///
/// The rules above the statements (``resolve(_:)``, the one-row rule, the intents) are written once,
/// in the extension below and in ``VMStore/Writer``.
package protocol StoreStatements {
    // MARK: VMs

    /// The VM with this pair, or nil.
    func vm(_ identity: VMIdentity) throws -> VMRecord?
    /// Every VM with this id, one per network, sorted by network.
    func vms(withID vmID: String) throws -> [VMRecord]
    /// The networks that have this id, sorted.
    func networks(withID vmID: String) throws -> [String]
    /// The VMs on `network` (all when nil) with `status` (any when nil), in (network, vm_id) order.
    func list(network: String?, status: VMStatus?) throws -> [VMRecord]
    /// How many VMs are on `network` (all when nil) with `status` (any when nil).
    func count(network: String?, status: VMStatus?) throws -> Int
    /// VM counts per network and status, in (network, status) order.
    func counts() throws -> [VMCount]
    /// The networks that have a VM, sorted.
    func networks() throws -> [String]
    /// The VM's events, oldest first (`at`, then row id).
    func events(_ identity: VMIdentity) throws -> [VMEvent]

    /// Inserts the VM with its origin and both timestamps.
    ///
    /// - Throws: ``StoreError`` `alreadyRecorded` when the pair is recorded (the statement wrote nothing).
    func insert(_ vm: NewVM, origin: VMOrigin, at timestamp: String) throws -> InsertedRow
    /// Deletes the VM with this pair; returns the rows deleted (its events go by cascade).
    func delete(_ identity: VMIdentity) throws -> [VMRecord]
    /// Sets one column and `updated_at`; returns the rows changed.
    func update(_ column: VMColumn, to value: String?, at timestamp: String, _ identity: VMIdentity) throws -> Int
    /// Appends an event to the VM's history.
    func insertEvent(_ identity: VMIdentity, kind: String, at: String, detail: String?) throws -> InsertedRow
    /// Appends an audit row to `vm_repairs` (v3 on); returns the rows inserted.
    ///
    /// - Throws: ``StoreError`` `schemaTooOld` on v2, which has no `vm_repairs`.
    func insertRepair(_ identity: VMIdentity, action: String, source: String, entry: String, recordedAt: String) throws -> Int

    // MARK: Provision intents

    /// Throws ``StoreError`` `schemaTooOld` (naming the version needed) when the schema has no intents.
    func requireIntents() throws
    /// The intent with this request id on `network`, or nil. In a write transaction, where what it
    /// says decides the write, the engine keeps another writer off the row until commit.
    func intent(network: String, requestID: String) throws -> ProvisionIntent?
    /// The intents in `state` (any when nil) on `network` (all when nil) created before `createdBefore`
    /// (any time when nil), oldest first, at most `limit`.
    func intents(state: ProvisionState?, network: String?, createdBefore: String?, limit: Int?) throws -> [ProvisionIntent]
    /// Intent counts by state.
    func intentCounts() throws -> [ProvisionState: Int]
    /// Inserts the intent, pending and leased.
    func insertIntent(_ request: ProvisionRequest, owner: String, leaseExpiresAt: String, at timestamp: String) throws
    /// Leases a pending intent again.
    func lease(network: String, requestID: String, owner: String, leaseExpiresAt: String, at timestamp: String) throws
    /// Sets the intent's state, vm id and detail (kept when nil), and drops its lease; returns the rows changed.
    func close(network: String, requestID: String, as state: ProvisionState, vmID: String?, detail: String?,
               at timestamp: String) throws -> Int
    /// Notes repair's first miss of the intent's VM (a later one keeps the first).
    func noteMissed(network: String, requestID: String, at timestamp: String) throws
}

/// A row an `INSERT` wrote: its id, and how many rows the statement changed (1, unless a trigger of
/// the operator's said otherwise).
package struct InsertedRow: Sendable {
    package var rowID: Int64
    package var changed: Int

    package init(rowID: Int64, changed: Int) {
        self.rowID = rowID
        self.changed = changed
    }
}

/// The columns of `vms` a keyed write sets one at a time.
package enum VMColumn: String, Sendable, CaseIterable {
    case installedVersion = "installed_version"
    case availableVersion = "available_version"
    case updatesCheckedAt = "updates_checked_at"
    case status
}

// MARK: The ambiguity rule, written once

extension StoreStatements {
    /// The one VM the reference names: the pair when it has a network; else the VM with that id
    /// when exactly one network has it.
    func resolve(_ reference: VMReference) throws -> VMRecord {
        if let identity = reference.identity {
            guard let record = try vm(identity) else { throw StoreError(.notFound(reference)) }
            return record
        }
        let matches = try vms(withID: reference.vmID)
        switch matches.count {
        case 1: return matches[0]
        case 0: throw StoreError(.notFound(reference))
        default: throw StoreError(.ambiguous(vmID: reference.vmID, networks: matches.map(\.network)))
        }
    }

    /// The identity the reference names, by the ambiguity rule, reading no more than needed: none
    /// at all when the network is given (the keyed write then says whether the pair exists).
    func resolveIdentity(_ reference: VMReference) throws -> VMIdentity {
        if let identity = reference.identity { return identity }
        let networks = try networks(withID: reference.vmID)
        switch networks.count {
        case 1: return VMIdentity(unchecked: networks[0], vmID: reference.vmID)
        case 0: throw StoreError(.notFound(reference))
        default: throw StoreError(.ambiguous(vmID: reference.vmID, networks: networks))
        }
    }

    /// The events of the VM the reference names.
    func events(of reference: VMReference) throws -> [VMEvent] {
        try events(resolve(reference).identity)
    }
}
