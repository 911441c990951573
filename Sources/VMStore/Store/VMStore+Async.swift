import Foundation
import GRDB

/// The store's operations for `async` callers: the same reads and writes, with
/// the same keys, errors and transactions as the synchronous ones.
///
/// Each suspends instead of blocking: the statement runs on the connection's
/// own dispatch queue (GRDB's async `read`, `unsafeRead` and `write`), a
/// reader waiting for a free connection and a write waiting for the write lock
/// (or for the busy timeout) wait as suspended tasks. No thread of Swift's
/// cooperative pool is held meanwhile, so any number of tasks may use the store
/// at once. In an `async` function, `try await store.list()` calls these; the
/// synchronous forms stay for synchronous code.
extension VMStore {
    // MARK: Reading

    /// Runs `body` on a read-only connection, without a snapshot transaction
    /// (one statement reads one consistent state), suspending while it waits.
    func readOneStatement<T: Sendable>(_ body: @escaping @Sendable (Database, VMQueries.Statements) throws -> T) async throws -> T {
        let watch = schemaWatch
        let read: @Sendable (Database) throws -> T = { db in try watch.reading(db) { try body(db, $0) } }
        do {
            guard let readers else { return try await writer.read(read) }
            return try await recoveringHotJournal { try await readers.withConnection { try await $0.unsafeRead(read) } }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Runs `body` in one read transaction, suspending while it waits.
    func readSnapshot<T: Sendable>(_ body: @escaping @Sendable (Database, VMQueries.Statements) throws -> T) async throws -> T {
        let watch = schemaWatch
        let read: @Sendable (Database) throws -> T = { db in try watch.reading(db) { try body(db, $0) } }
        do {
            guard let readers else { return try await writer.read(read) }
            return try await recoveringHotJournal { try await readers.withConnection { try await $0.read(read) } }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// As the synchronous form: a hot journal met by a read-only connection is
    /// rolled back through the writer connection, then the read runs once more.
    private func recoveringHotJournal<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_READONLY_ROLLBACK {
            _ = try await writer.writeWithoutTransaction { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }
            return try await body()
        }
    }

    /// The VM with this pair, or nil.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vm(_ identity: VMIdentity) async throws -> VMRecord? {
        try await readOneStatement { try $1.vm($0, identity) }
    }

    /// The one VM the reference names (see ``vm(_:)-(VMReference)``).
    ///
    /// - Throws: ``StoreError`` `notFound`, or `ambiguous` naming every network that has the id.
    public func vm(_ reference: VMReference) async throws -> VMRecord {
        try await readOneStatement { try $1.resolve($0, reference) }
    }

    /// Every VM with this id, one per network, sorted by network.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vms(withID vmID: String) async throws -> [VMRecord] {
        try await readOneStatement { try $1.vms($0, vmID: vmID) }
    }

    /// The VMs on `network` (all networks when nil) with `status` (any when nil), in (network, vm_id) order.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func list(network: String? = nil, status: VMStatus? = nil) async throws -> [VMRecord] {
        try await readOneStatement { db, statements in
            let (sql, arguments) = statements.filtered(statements.vmColumns, network: network, status: status, ordered: true)
            return try VMQueries.VMRows.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
        }
    }

    /// How many VMs are on `network` (all when nil) with `status` (any when nil).
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func count(network: String? = nil, status: VMStatus? = nil) async throws -> Int {
        try await readOneStatement { db, statements in
            let (sql, arguments) = statements.filtered("count(*)", network: network, status: status, ordered: false)
            return try Int.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) ?? 0
        }
    }

    /// VM counts per network and status.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func counts() async throws -> [VMCount] {
        try await readOneStatement { try $1.counts($0) }
    }

    /// The networks that have a VM.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func networks() async throws -> [String] {
        try await readOneStatement { try $1.networks($0) }
    }

    /// The events of the VM the reference names, oldest first, keyed on its pair.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous`, `busy`, `databaseFailure`.
    public func events(of reference: VMReference) async throws -> [VMEvent] {
        try await readSnapshot { db, statements in
            let record = try statements.resolve(db, reference)
            return try statements.events(db, record.identity)
        }
    }

    // MARK: Writing

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`), as
    /// ``write(_:)-(Writer)->T``, suspending while it waits for the writer
    /// connection and the write lock.
    ///
    /// - Throws: What `body` throws (the transaction is rolled back), or ``StoreError``.
    public func write<T: Sendable>(_ body: @Sendable (Writer) throws -> T) async throws -> T {
        let clock = self.clock
        do {
            let (watch, path) = (schemaWatch, self.path)
            return try await writer.write { db in try Writer.run(db, statements: watch.schema(db).statements, path: path, clock: clock, body) }
        } catch {
            throw Self.translate(error, path: path)
        }
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
