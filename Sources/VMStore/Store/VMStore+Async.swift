import Foundation

/// The store's operations for `async` callers: the same reads and writes, with
/// the same keys, errors and transactions as the synchronous ones.
///
/// Each suspends instead of blocking: on SQLite the statement runs on the
/// connection's own dispatch queue (GRDB's async `read`, `unsafeRead` and
/// `write`), a reader waiting for a free connection and a write waiting for the
/// write lock (or for the busy timeout) wait as suspended tasks. No thread of Swift's
/// cooperative pool is held meanwhile, so any number of tasks may use the store
/// at once. In an `async` function, `try await store.list()` calls these; the
/// synchronous forms stay for synchronous code.
extension VMStore {
    // MARK: Reading

    /// The VM with this pair, or nil.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vm(_ identity: VMIdentity) async throws -> VMRecord? {
        try await engine.read(snapshot: false) { try $0.vm(identity) }
    }

    /// The one VM the reference names (see ``vm(_:)-(VMReference)``).
    ///
    /// - Throws: ``StoreError`` `notFound`, or `ambiguous` naming every network that has the id.
    public func vm(_ reference: VMReference) async throws -> VMRecord {
        try await engine.read(snapshot: false) { try $0.resolve(reference) }
    }

    /// Every VM with this id, one per network, sorted by network.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vms(withID vmID: String) async throws -> [VMRecord] {
        try await engine.read(snapshot: false) { try $0.vms(withID: vmID) }
    }

    /// The VMs on `network` (all networks when nil) with `status` (any when nil), in (network, vm_id) order.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func list(network: String? = nil, status: VMStatus? = nil) async throws -> [VMRecord] {
        try await engine.read(snapshot: false) { try $0.list(network: network, status: status) }
    }

    /// How many VMs are on `network` (all when nil) with `status` (any when nil).
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func count(network: String? = nil, status: VMStatus? = nil) async throws -> Int {
        try await engine.read(snapshot: false) { try $0.count(network: network, status: status) }
    }

    /// VM counts per network and status.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func counts() async throws -> [VMCount] {
        try await engine.read(snapshot: false) { try $0.counts() }
    }

    /// The networks that have a VM.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func networks() async throws -> [String] {
        try await engine.read(snapshot: false) { try $0.networks() }
    }

    /// The events of the VM the reference names, oldest first, keyed on its pair.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous`, `busy`, `databaseFailure`.
    public func events(of reference: VMReference) async throws -> [VMEvent] {
        try await engine.read(snapshot: true) { try $0.events(of: reference) }
    }

    // MARK: Writing

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`), as
    /// ``write(_:)-(Writer)->T``, suspending while it waits for the writer
    /// connection and the write lock.
    ///
    /// - Throws: What `body` throws (the transaction is rolled back), or ``StoreError``.
    public func write<T: Sendable>(_ body: @Sendable (Writer) throws -> T) async throws -> T {
        let clock = self.clock
        return try await engine.write { try body(Writer(statements: $0, clock: clock)) }
    }

    /// Records a VM (see ``Writer/provision(_:origin:)``).
    ///
    /// - Throws: ``StoreError``: `alreadyRecorded`, `idOnAnotherNetwork` (on a v2 database), `unstorableText`, `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func provision(_ vm: NewVM, origin: VMOrigin = .provision) async throws -> VMRecord {
        try await write { try $0.provision(vm, origin: origin) }
    }

    /// Deletes the VM the reference names and returns it as it was.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func delete(_ reference: VMReference) async throws -> VMRecord {
        try await write { try $0.delete(reference) }
    }

    /// Records the version installed on the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordInstalledVersion(_ version: String?, for reference: VMReference) async throws -> VMChange {
        try await write { try $0.recordInstalledVersion(version, for: reference) }
    }

    /// Records an update found available for the VM the reference names (nil: none).
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordAvailableUpdate(_ version: String?, for reference: VMReference) async throws -> VMChange {
        try await write { try $0.recordAvailableUpdate(version, for: reference) }
    }

    /// Records when updates were last checked for the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordUpdateCheck(for reference: VMReference, at date: Date? = nil) async throws -> VMChange {
        try await write { try $0.recordUpdateCheck(for: reference, at: date) }
    }

    /// Records the status of the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordStatus(_ status: VMStatus, for reference: VMReference) async throws -> VMChange {
        try await write { try $0.recordStatus(status, for: reference) }
    }

    /// Appends an event to the history of the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordEvent(_ kind: String, detail: String? = nil, for reference: VMReference, at date: Date? = nil) async throws -> VMEvent {
        try await write { try $0.recordEvent(kind, detail: detail, for: reference, at: date) }
    }
}
