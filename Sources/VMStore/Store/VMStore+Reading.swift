extension VMStore {
    /// The VM with this pair, or nil.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vm(_ identity: VMIdentity) throws -> VMRecord? {
        try engine.read(snapshot: false) { try $0.vm(identity) }
    }

    /// The one VM the reference names: the pair when it has a network; else the
    /// VM with that id when exactly one network has it.
    ///
    /// - Throws: ``StoreError`` `notFound`, or `ambiguous` naming every network
    ///   that has the id (the store never guesses).
    public func vm(_ reference: VMReference) throws -> VMRecord {
        try engine.read(snapshot: false) { try $0.resolve(reference) }
    }

    /// Every VM with this id, one per network, sorted by network.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vms(withID vmID: String) throws -> [VMRecord] {
        try engine.read(snapshot: false) { try $0.vms(withID: vmID) }
    }

    /// The VMs on `network` (all networks when nil) with `status` (any when nil), in (network, vm_id) order.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func list(network: String? = nil, status: VMStatus? = nil) throws -> [VMRecord] {
        try engine.read(snapshot: false) { try $0.list(network: network, status: status) }
    }

    /// How many VMs are on `network` (all when nil) with `status` (any when nil).
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func count(network: String? = nil, status: VMStatus? = nil) throws -> Int {
        try engine.read(snapshot: false) { try $0.count(network: network, status: status) }
    }

    /// VM counts per network and status.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func counts() throws -> [VMCount] {
        try engine.read(snapshot: false) { try $0.counts() }
    }

    /// The networks that have a VM.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func networks() throws -> [String] {
        try engine.read(snapshot: false) { try $0.networks() }
    }

    /// The events of the VM the reference names, oldest first, keyed on its pair.
    ///
    /// - Throws: ``StoreError`` `notFound` or `ambiguous`, as ``vm(_:)-(VMReference)``.
    public func events(of reference: VMReference) throws -> [VMEvent] {
        try engine.read(snapshot: true) { try $0.events(of: reference) }
    }
}

/// How many VMs one network has in one status.
public struct VMCount: Sendable, Hashable, Codable {
    public let network: String
    public let status: VMStatus
    public let count: Int

    public init(network: String, status: VMStatus, count: Int) {
        self.network = network
        self.status = status
        self.count = count
    }
}
