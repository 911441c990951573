import GRDB

extension VMStore {
    /// Runs `body` on a read-only connection. A single statement reads one
    /// consistent state by itself, so on the store's own connections it runs
    /// without a snapshot transaction (`BEGIN`/`COMMIT`) around it.
    func readOneStatement<T>(_ body: (Database, VMQueries.Statements) throws -> T) throws -> T {
        do {
            guard let readers else { return try writer.read { db in try schemaWatch.reading(db) { try body(db, $0) } } }
            return try recoveringHotJournal { try readers.withConnection { try $0.inDatabase { db in try schemaWatch.reading(db) { try body(db, $0) } } } }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Runs `body` in one read transaction: every statement sees the same committed state.
    func readSnapshot<T>(_ body: (Database, VMQueries.Statements) throws -> T) throws -> T {
        do {
            guard let readers else { return try writer.read { db in try schemaWatch.reading(db) { try body(db, $0) } } }
            return try recoveringHotJournal { try readers.withConnection { try $0.read { db in try schemaWatch.reading(db) { try body(db, $0) } } } }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    /// Runs `body`; when a read-only connection met a hot journal (a writer
    /// crashed mid-transaction since the store opened), rolls it back through
    /// the writer connection, which may write, and runs `body` once more.
    private func recoveringHotJournal<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_READONLY_ROLLBACK {
            try Self.rollBackHotJournal(writer)
            return try body()
        }
    }

    /// The VM with this pair, or nil.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vm(_ identity: VMIdentity) throws -> VMRecord? {
        try readOneStatement { try $1.vm($0, identity) }
    }

    /// The one VM the reference names: the pair when it has a network; else the
    /// VM with that id when exactly one network has it.
    ///
    /// - Throws: ``StoreError`` `notFound`, or `ambiguous` naming every network
    ///   that has the id (the store never guesses).
    public func vm(_ reference: VMReference) throws -> VMRecord {
        try readOneStatement { try $1.resolve($0, reference) }
    }

    /// Every VM with this id, one per network, sorted by network.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func vms(withID vmID: String) throws -> [VMRecord] {
        try readOneStatement { try $1.vms($0, vmID: vmID) }
    }

    /// The VMs on `network` (all networks when nil) with `status` (any when nil), in (network, vm_id) order.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func list(network: String? = nil, status: VMStatus? = nil) throws -> [VMRecord] {
        try readOneStatement { db, statements in
            let (sql, arguments) = statements.filtered(statements.vmColumns, network: network, status: status, ordered: true)
            return try VMQueries.VMRows.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
        }
    }

    /// How many VMs are on `network` (all when nil) with `status` (any when nil).
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func count(network: String? = nil, status: VMStatus? = nil) throws -> Int {
        try readOneStatement { db, statements in
            let (sql, arguments) = statements.filtered("count(*)", network: network, status: status, ordered: false)
            return try Int.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) ?? 0
        }
    }

    /// VM counts per network and status.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func counts() throws -> [VMCount] {
        try readOneStatement { try $1.counts($0) }
    }

    /// The networks that have a VM.
    ///
    /// - Throws: ``StoreError``: `busy` (no reader within the busy timeout), `invalidRecord` (a row this store cannot read), `databaseFailure`.
    public func networks() throws -> [String] {
        try readOneStatement { try $1.networks($0) }
    }

    /// The events of the VM the reference names, oldest first, keyed on its pair.
    ///
    /// - Throws: ``StoreError`` `notFound` or `ambiguous`, as ``vm(_:)-(VMReference)``.
    public func events(of reference: VMReference) throws -> [VMEvent] {
        try readSnapshot { db, statements in
            let record = try statements.resolve(db, reference)
            return try statements.events(db, record.identity)
        }
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
