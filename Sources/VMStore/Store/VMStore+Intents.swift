import Foundation

/// Provision intents (schema v4): the create path that leaves no VM unrecorded.
///
/// The order of the calls, and why:
/// 1. ``VMStore/beginProvision(_:owner:lease:)``, committed before the daemon is
///    called: from then on, whatever happens, the store knows a VM may exist under
///    this request id (Pulumi's pending operation, Crossplane's `create-pending`).
/// 2. The daemon's `deploy_vm`, sending the request id (the daemon keeps it and
///    lists it in `list_vms`).
/// 3. ``VMStore/completeProvision(requestID:vm:)`` records the VM and closes the
///    intent in one transaction; or ``VMStore/failProvision(network:requestID:reason:)``
///    when the daemon said no.
///
/// A deployer killed, or a write failed, between 1 and 3 leaves the intent pending;
/// once its lease runs out, `vmdb repair` looks the request id up in the daemon's
/// inventory and adopts the VM, or abandons the intent after two scans that miss it.
extension VMStore.Writer {
    /// Refuses the intent calls below v4, naming the version needed.
    func requireIntents() throws {
        try statements.requireIntents()
    }

    // MARK: Reads

    /// The intent with this request id on `network`, or nil.
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `invalidRecord`, `databaseFailure`.
    public func provisionIntent(network: String, requestID: String) throws -> ProvisionIntent? {
        try requireIntents()
        return try statements.intent(network: network, requestID: requestID)
    }

    // MARK: The create path

    /// Writes the intent to create `request`'s VM, pending, leased to `owner` for
    /// `lease` seconds; call it, and let its transaction commit, before the daemon call.
    ///
    /// A retry with the same request (network, request id and the same fields) returns
    /// the intent already written, whatever its state; a pending one is leased again to
    /// `owner`. Nothing else changes, so a retried provision can never make two intents.
    ///
    /// - Returns: The intent as stored.
    /// - Throws: ``StoreError``: `requestIDReused` (the id names another request on
    ///   that network: nothing was written), `schemaTooOld` (below v4), `unstorableText` (a NUL in the name or owner).
    @discardableResult
    public func beginProvision(_ request: ProvisionRequest, owner: String, lease: TimeInterval) throws -> ProvisionIntent {
        try requireIntents()
        let now = clock()
        let (timestamp, expiry) = (Timestamp.string(from: now), Timestamp.string(from: now.addingTimeInterval(max(0, lease))))
        for (column, value) in [("name", request.name), ("lease_owner", owner)] where value.utf8.contains(0) {
            throw StoreError(.unstorableRequestText(network: request.network, requestID: request.requestID, column: column))
        }
        if var existing = try statements.intent(network: request.network, requestID: request.requestID) {
            let differences = request.differences(from: existing.request)
            guard differences.isEmpty else {
                throw StoreError(.requestIDReused(network: request.network, requestID: request.requestID, fields: differences))
            }
            guard existing.state == .pending else { return existing }
            try statements.lease(network: request.network, requestID: request.requestID, owner: owner, leaseExpiresAt: expiry, at: timestamp)
            (existing.leaseOwner, existing.leaseExpiresAt, existing.updatedAt) = (owner, expiry, timestamp)
            return existing
        }
        try statements.insertIntent(request, owner: owner, leaseExpiresAt: expiry, at: timestamp)
        return ProvisionIntent(request: request, state: .pending, vmID: nil, detail: nil, leaseOwner: owner,
                               leaseExpiresAt: expiry, firstMissedAt: nil, createdAt: timestamp, updatedAt: timestamp)
    }

    /// Records the VM the daemon created for `requestID` (on `vm`'s network) and
    /// closes its intent as `recorded`, in this one transaction.
    ///
    /// Idempotent: called again (a retry after a lost commit acknowledgement), or
    /// after repair adopted the same VM, it returns the record and writes nothing.
    /// A VM repair recorded meanwhile as an orphan is kept as it is, and the intent
    /// closed. An intent failed or abandoned is closed as recorded all the same: the
    /// daemon's answer proves the VM exists, and recording it is what matters.
    ///
    /// - Returns: The VM's record.
    /// - Throws: ``StoreError``: `intentNotFound` (no ``beginProvision(_:owner:lease:)``
    ///   for this request id), `intentConflict` (closed with another vm id),
    ///   `schemaTooOld` below v4, and the errors of ``provision(_:origin:)``.
    @discardableResult
    public func completeProvision(requestID: String, vm: NewVM) throws -> VMRecord {
        try requireIntents()
        let network = vm.identity.network
        guard let intent = try statements.intent(network: network, requestID: requestID) else {
            throw StoreError(.intentNotFound(network: network, requestID: requestID))
        }
        if let recordedID = intent.vmID {
            guard recordedID == vm.identity.vmID else {
                throw StoreError(.intentConflict(network: network, requestID: requestID,
                                                 reason: "is already \(intent.state.rawValue) with vm id '\(recordedID)', not '\(vm.identity.vmID)': one request creates one VM. Check the daemon (`vmdb repair`) before recording either"))
            }
            if let record = try self.vm(vm.identity) { return record }
            throw StoreError(.intentConflict(network: network, requestID: requestID,
                                             reason: "was \(intent.state.rawValue) as VM \(vm.identity), whose record has since been deleted; it is not recorded again"))
        }
        let record = try self.vm(vm.identity) ?? provision(vm, origin: .provision)
        try close(network: network, requestID: requestID, as: .recorded, vmID: vm.identity.vmID, detail: nil)
        return record
    }

    /// Closes the intent as `failed`: the daemon refused the create, nothing exists.
    ///
    /// Idempotent on a failed intent; an abandoned one becomes failed (the deployer's
    /// word is firmer than repair's two misses).
    ///
    /// - Returns: The intent as stored.
    /// - Throws: ``StoreError``: `intentNotFound`, `intentConflict` (its VM is recorded
    ///   already: the daemon did create it), `schemaTooOld` below v4.
    @discardableResult
    public func failProvision(network: String, requestID: String, reason: String) throws -> ProvisionIntent {
        try requireIntents()
        guard var intent = try statements.intent(network: network, requestID: requestID) else {
            throw StoreError(.intentNotFound(network: network, requestID: requestID))
        }
        switch intent.state {
        case .failed:
            return intent
        case .recorded, .adopted:
            throw StoreError(.intentConflict(network: network, requestID: requestID,
                                             reason: "is \(intent.state.rawValue) as VM \(intent.identity.map { "\($0)" } ?? "?"): the daemon created it, so it cannot be failed. Delete the VM if it must go"))
        case .pending, .abandoned:
            // The daemon's words are kept whatever they hold: a NUL would cut the text short.
            let detail = reason.replacingOccurrences(of: "\0", with: "\u{FFFD}")
            try close(network: network, requestID: requestID, as: .failed, vmID: nil, detail: detail)
            (intent.state, intent.detail, intent.leaseOwner, intent.leaseExpiresAt) = (.failed, detail, nil, nil)
            intent.updatedAt = Timestamp.string(from: clock())
            return intent
        }
    }

    // MARK: Repair's resolutions

    /// Repair found the request's VM in the daemon's inventory: records `vm` (unless it
    /// is recorded already) with origin `repair`, and closes the intent as `adopted`.
    /// An intent no longer pending is left as it is (the deployer closed it meanwhile).
    ///
    /// - Returns: Whether the intent was adopted.
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, and the errors of ``provision(_:origin:)``.
    public func adoptProvision(requestID: String, vm: NewVM) throws -> Bool {
        try requireIntents()
        let network = vm.identity.network
        guard try statements.intent(network: network, requestID: requestID)?.state == .pending else { return false }
        if try self.vm(vm.identity) == nil { try provision(vm, origin: .repair) }
        try close(network: network, requestID: requestID, as: .adopted, vmID: vm.identity.vmID, detail: nil)
        return true
    }

    /// Repair did not find the request's VM: the first miss is noted (`first_missed_at`),
    /// and a later one closes the intent as `abandoned` with `detail`. A pending intent
    /// only; one closed meanwhile is left as it is.
    ///
    /// - Returns: The intent's state afterwards (nil when there is no such intent).
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `databaseFailure`.
    public func noteProvisionMissing(network: String, requestID: String, abandoning: Bool, detail: String) throws -> ProvisionState? {
        try requireIntents()
        guard let intent = try statements.intent(network: network, requestID: requestID) else { return nil }
        guard intent.state == .pending else { return intent.state }
        if abandoning {
            try close(network: network, requestID: requestID, as: .abandoned, vmID: nil, detail: detail)
            return .abandoned
        }
        try statements.noteMissed(network: network, requestID: requestID, at: Timestamp.string(from: clock()))
        return .pending
    }

    /// Closes a pending (or abandoned) intent: the state, the vm id, no lease.
    func close(network: String, requestID: String, as state: ProvisionState, vmID: String?, detail: String?) throws {
        let changed = try statements.close(network: network, requestID: requestID, as: state, vmID: vmID, detail: detail,
                                           at: Timestamp.string(from: clock()))
        guard changed == 1 else {
            throw StoreError(.intentNotFound(network: network, requestID: requestID))
        }
    }
}

// MARK: The store's own forms, each in its own transaction

extension VMStore {
    /// Writes the intent before the daemon call (see ``Writer/beginProvision(_:owner:lease:)``).
    ///
    /// - Throws: ``StoreError``: `requestIDReused`, `schemaTooOld` (below v4), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func beginProvision(_ request: ProvisionRequest, owner: String, lease: TimeInterval = 300) throws -> ProvisionIntent {
        try write { try $0.beginProvision(request, owner: owner, lease: lease) }
    }

    /// Records the VM and closes its intent in one transaction (see ``Writer/completeProvision(requestID:vm:)``).
    ///
    /// - Throws: ``StoreError``: `intentNotFound`, `intentConflict`, `schemaTooOld`, `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func completeProvision(requestID: String, vm: NewVM) throws -> VMRecord {
        try write { try $0.completeProvision(requestID: requestID, vm: vm) }
    }

    /// Closes the intent as failed: the daemon said no (see ``Writer/failProvision(network:requestID:reason:)``).
    ///
    /// - Throws: ``StoreError``: `intentNotFound`, `intentConflict`, `schemaTooOld`, `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func failProvision(network: String, requestID: String, reason: String) throws -> ProvisionIntent {
        try write { try $0.failProvision(network: network, requestID: requestID, reason: reason) }
    }

    /// The intent with this request id on `network`, or nil.
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `busy`, `databaseFailure`.
    public func provisionIntent(network: String, requestID: String) throws -> ProvisionIntent? {
        try engine.read(snapshot: false) { statements in
            try statements.requireIntents()
            return try statements.intent(network: network, requestID: requestID)
        }
    }

    /// The intents still pending that were begun more than `age` seconds ago, oldest
    /// first: provisions that ran long or were interrupted (repair resolves those whose
    /// lease ran out).
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `busy`, `databaseFailure`.
    public func openProvisionIntents(olderThan age: TimeInterval = 0, network: String? = nil, limit: Int? = nil) throws -> [ProvisionIntent] {
        let before = Timestamp.string(from: clock().addingTimeInterval(-age + 1))
        return try provisionIntents(state: .pending, network: network, createdBefore: before, limit: limit)
    }

    /// The intents in `state` (any when nil) on `network` (all when nil), oldest first.
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `busy`, `databaseFailure`.
    public func provisionIntents(state: ProvisionState? = nil, network: String? = nil, createdBefore: String? = nil,
                                 limit: Int? = nil) throws -> [ProvisionIntent] {
        try engine.read(snapshot: false) { statements in
            try statements.requireIntents()
            return try statements.intents(state: state, network: network, createdBefore: createdBefore, limit: limit)
        }
    }

    /// How many intents are in each state (a state with none is left out).
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `busy`, `databaseFailure`.
    public func provisionIntentCounts() throws -> [ProvisionState: Int] {
        try engine.read(snapshot: false) { statements in
            try statements.requireIntents()
            return try statements.intentCounts()
        }
    }
}

// MARK: async forms

extension VMStore {
    /// Writes the intent before the daemon call, suspending while it waits (see ``Writer/beginProvision(_:owner:lease:)``).
    ///
    /// - Throws: ``StoreError``: `requestIDReused`, `schemaTooOld` (below v4), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func beginProvision(_ request: ProvisionRequest, owner: String, lease: TimeInterval = 300) async throws -> ProvisionIntent {
        try await write { try $0.beginProvision(request, owner: owner, lease: lease) }
    }

    /// Records the VM and closes its intent in one transaction, suspending while it waits.
    ///
    /// - Throws: ``StoreError``: `intentNotFound`, `intentConflict`, `schemaTooOld`, `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func completeProvision(requestID: String, vm: NewVM) async throws -> VMRecord {
        try await write { try $0.completeProvision(requestID: requestID, vm: vm) }
    }

    /// Closes the intent as failed, suspending while it waits.
    ///
    /// - Throws: ``StoreError``: `intentNotFound`, `intentConflict`, `schemaTooOld`, `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func failProvision(network: String, requestID: String, reason: String) async throws -> ProvisionIntent {
        try await write { try $0.failProvision(network: network, requestID: requestID, reason: reason) }
    }

    /// The intent with this request id on `network`, or nil, suspending while it waits.
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `busy`, `databaseFailure`.
    public func provisionIntent(network: String, requestID: String) async throws -> ProvisionIntent? {
        try await engine.read(snapshot: false) { statements in
            try statements.requireIntents()
            return try statements.intent(network: network, requestID: requestID)
        }
    }

    /// The intents still pending that were begun more than `age` seconds ago, oldest first, suspending while it waits.
    ///
    /// - Throws: ``StoreError``: `schemaTooOld` below v4, `busy`, `databaseFailure`.
    public func openProvisionIntents(olderThan age: TimeInterval = 0, network: String? = nil, limit: Int? = nil) async throws -> [ProvisionIntent] {
        let before = Timestamp.string(from: clock().addingTimeInterval(-age + 1))
        return try await engine.read(snapshot: false) { statements in
            try statements.requireIntents()
            return try statements.intents(state: .pending, network: network, createdBefore: before, limit: limit)
        }
    }
}
