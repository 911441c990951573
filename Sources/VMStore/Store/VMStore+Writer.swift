import Foundation
import GRDB

extension VMStore {
    /// The store's operations inside one write transaction, for work that must
    /// commit or roll back as a whole (such as recording an orphan together with
    /// its audit row).
    ///
    /// A writer exists only during the closure given to ``VMStore/write(_:)``;
    /// do not keep it, or its ``database``, beyond that closure. Every method
    /// follows the same rules as the store's own (keyed on the pair, exactly one
    /// row changed, typed errors), and sees the transaction's own writes.
    public struct Writer {
        /// The connection, inside the open transaction: for statements of your
        /// own (an audit row, …) in the same transaction. Bind every value.
        public let database: Database
        /// The statements of the schema this transaction writes (it cannot change under it).
        let statements: VMQueries.Statements
        let path: String
        let clock: @Sendable () -> Date
        /// Whether this transaction wrote through the C API (provision and delete step their
        /// statements directly, for speed), which GRDB's observers cannot see by themselves.
        private let unobserved = UnobservedWrites()

        init(database: Database, statements: VMQueries.Statements, path: String, clock: @escaping @Sendable () -> Date) {
            self.database = database
            self.statements = statements
            self.path = path
            self.clock = clock
        }

        /// Runs `body` with a writer on `db`, then tells GRDB's observers (ValueObservation,
        /// TransactionObserver on the deployer's own pool) that it wrote through the C API:
        /// once per transaction, before it commits, so a batch pays for one notice.
        ///
        /// The whole database is notified, not `vms` and `vm_events` alone: an operator's
        /// trigger, or a foreign key's cascade, writes other tables in the same statement
        /// (an audit table on delete), and their observers must hear of it too. Observers get
        /// `databaseDidChange()`, never a per-row `DatabaseEvent`, for these writes: GRDB's
        /// update hook is not installed for statements it did not step.
        static func run<T>(_ db: Database, statements: VMQueries.Statements, path: String, clock: @escaping @Sendable () -> Date,
                           _ body: (Writer) throws -> T) throws -> T {
            let writer = Writer(database: db, statements: statements, path: path, clock: clock)
            let result = try body(writer)
            if writer.unobserved.happened { try db.notifyChanges(in: DatabaseRegion.fullDatabase) }
            return result
        }

        /// ``Writer/unobserved``: a class, so that the writer's copies share it.
        private final class UnobservedWrites {
            var happened = false
        }

        private var now: String { Timestamp.string(from: clock()) }

        // MARK: Provision

        /// Records a VM: one `INSERT` writes the network and the id together with the record.
        ///
        /// - Parameters:
        ///   - vm: The values of the record.
        ///   - origin: `.provision` when the deployer deployed it, `.repair` when repair records an orphan.
        /// - Returns: The record as stored.
        /// - Throws: ``StoreError`` `alreadyRecorded` naming the pair when it is
        ///   recorded already (nothing is written; the same id on another network is
        ///   fine at v3; v2 refuses it, `idOnAnotherNetwork`); `schemaTooOld` for a
        ///   `.repair` origin on v2, which has no column to keep it in.
        @discardableResult
        public func provision(_ vm: NewVM, origin: VMOrigin = .provision) throws -> VMRecord {
            let timestamp = now
            let identity = vm.identity
            guard statements.hasOrigin || origin == .provision else {
                throw StoreError(.schemaTooOld(path: path, found: 2, expected: VMStore.schemaVersion))
            }
            let statement = try database.cachedStatement(sql: statements.insert)
            try Self.refuseNUL("name", vm.name, of: identity)
            try Self.refuseNUL("status", vm.status.rawValue, of: identity)
            try Self.refuseNUL("ipv4", vm.ipv4, of: identity)
            try Self.refuseNUL("ipv6", vm.ipv6, of: identity)
            try Self.refuseNUL("mycelium_ip", vm.myceliumIP, of: identity)
            try Self.refuseNUL("flist", vm.flist, of: identity)
            try Self.refuseNUL("installed_version", vm.installedVersion, of: identity)
            try Self.refuseNUL("metadata", vm.metadata, of: identity)
            do {
                // In the order of VMQueries.insert's columns.
                try DirectStatement.executeInTransaction(statement) { row in
                    try DirectStatement.bind(row, 1, identity.network)
                    try DirectStatement.bind(row, 2, identity.vmID)
                    try DirectStatement.bind(row, 3, vm.name)
                    try DirectStatement.bind(row, 4, vm.nodeID)
                    try DirectStatement.bind(row, 5, vm.contractID)
                    try DirectStatement.bind(row, 6, vm.twinID)
                    try DirectStatement.bind(row, 7, vm.status.rawValue)
                    try DirectStatement.bind(row, 8, vm.ipv4)
                    try DirectStatement.bind(row, 9, vm.ipv6)
                    try DirectStatement.bind(row, 10, vm.myceliumIP)
                    try DirectStatement.bind(row, 11, vm.flist)
                    try DirectStatement.bind(row, 12, vm.cpu)
                    try DirectStatement.bind(row, 13, vm.memoryMB)
                    try DirectStatement.bind(row, 14, vm.diskGB)
                    try DirectStatement.bind(row, 15, vm.installedVersion)
                    try DirectStatement.bind(row, 16, timestamp)
                    try DirectStatement.bind(row, 17, timestamp)
                    try DirectStatement.bind(row, 18, vm.metadata)
                    if statements.hasOrigin { try DirectStatement.bind(row, 19, origin.rawValue) }
                }
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                // The failed statement alone was rolled back. Name the pair only
                // when it is the identity that collided, not another unique index
                // an operator may have added.
                if try statements.vm(database, identity) != nil {
                    throw StoreError(.alreadyRecorded(identity))
                }
                // v2: the id alone is unique, and another network has it (or a row with none).
                if !statements.hasOrigin, let other = try Row.fetchOne(database, sql: "SELECT network FROM vms WHERE vm_id = ?", arguments: [identity.vmID]) {
                    throw StoreError(.idOnAnotherNetwork(identity, existing: (other[0] as String?).flatMap { $0.isEmpty ? nil : $0 } ?? "(none)", path: path))
                }
                throw error
            }
            try expectOneChange(database.changesCount, identity, "provision")
            unobserved.happened = true
            return VMRecord(
                rowID: database.lastInsertedRowID, identity: identity, name: vm.name, nodeID: vm.nodeID,
                contractID: vm.contractID, twinID: vm.twinID, status: vm.status, ipv4: vm.ipv4, ipv6: vm.ipv6,
                myceliumIP: vm.myceliumIP, flist: vm.flist, cpu: vm.cpu, memoryMB: vm.memoryMB, diskGB: vm.diskGB,
                installedVersion: vm.installedVersion, createdAt: timestamp, updatedAt: timestamp,
                metadata: vm.metadata, origin: origin)
        }

        // MARK: Reads inside the transaction

        /// The VM with this pair, or nil.
        ///
        /// - Throws: ``StoreError``: `invalidRecord` (a row this store cannot read), `databaseFailure`.
        public func vm(_ identity: VMIdentity) throws -> VMRecord? {
            try statements.vm(database, identity)
        }

        /// The one VM the reference names (see ``VMStore/vm(_:)-(VMReference)``).
        ///
        /// - Throws: ``StoreError``: `notFound`, or `ambiguous` naming every network that has the id.
        public func vm(_ reference: VMReference) throws -> VMRecord {
            try statements.resolve(database, reference)
        }

        /// The identity the reference names, by the ambiguity rule.
        ///
        /// - Throws: ``StoreError``: `notFound`, or `ambiguous` naming every network that has the id.
        public func resolve(_ reference: VMReference) throws -> VMIdentity {
            try statements.resolveIdentity(database, reference)
        }

        // MARK: Keyed writes

        /// Deletes the VM the reference names (its events go with it, by the
        /// schema's `ON DELETE CASCADE`; `vm_repairs` audit rows stay).
        ///
        /// - Returns: The record as it was.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func delete(_ reference: VMReference) throws -> VMRecord {
            let identity = try resolve(reference)
            let statement = try database.cachedStatement(sql: statements.delete)
            let deleted = try VMQueries.VMRows.fetchAll(statement, identity, inTransaction: true)
            try expectOneChange(deleted.count, identity, "delete", reference: reference)
            unobserved.happened = true   // its events go by cascade, and operator triggers may write more
            return deleted[0]
        }

        /// Records the version installed on the VM.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordInstalledVersion(_ version: String?, for reference: VMReference) throws -> VMChange {
            try update(statements.setInstalledVersion, column: "installed_version", value: version, reference, "install")
        }

        /// Records an update found available for the VM (nil: none).
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordAvailableUpdate(_ version: String?, for reference: VMReference) throws -> VMChange {
            try update(statements.setAvailableVersion, column: "available_version", value: version, reference, "update")
        }

        /// Records when updates were checked for the VM (by default, now).
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordUpdateCheck(for reference: VMReference, at date: Date? = nil) throws -> VMChange {
            try update(statements.setUpdatesCheckedAt, column: "updates_checked_at", value: Timestamp.string(from: date ?? clock()), reference, "check-updates")
        }

        /// Records the VM's status.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordStatus(_ status: VMStatus, for reference: VMReference) throws -> VMChange {
            try update(statements.setStatus, column: "status", value: status.rawValue, reference, "status change")
        }

        /// Appends an event to the VM's history.
        ///
        /// - Returns: The event as stored.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordEvent(_ kind: String, detail: String? = nil, for reference: VMReference, at date: Date? = nil) throws -> VMEvent {
            let identity = try resolve(reference)
            guard try statements.vm(database, identity) != nil else { throw StoreError(.notFound(reference)) }
            try Self.refuseNUL("kind", kind, of: identity)
            try Self.refuseNUL("detail", detail, of: identity)
            let at = Timestamp.string(from: date ?? clock())
            let statement = try database.cachedStatement(sql: statements.insertEvent)
            try statement.execute(arguments: [identity.network, identity.vmID, kind, at, detail])
            try expectOneChange(database.changesCount, identity, "event")
            return VMEvent(rowID: database.lastInsertedRowID, identity: identity, kind: kind, at: at, detail: detail)
        }

        private func update(_ sql: String, column: String, value: String?, _ reference: VMReference, _ operation: String) throws -> VMChange {
            let identity = try resolve(reference)
            try Self.refuseNUL(column, value, of: identity)
            let statement = try database.cachedStatement(sql: sql)
            try statement.execute(arguments: [value, Timestamp.string(from: clock()), identity.network, identity.vmID])
            let changed = database.changesCount
            try expectOneChange(changed, identity, operation, reference: reference)
            return VMChange(identity: identity, changedRows: changed)
        }

        /// GRDB binds text up to its first NUL, and reads it back only that far
        /// (`String(cString:)`): a value holding one would be stored or read cut
        /// short, silently. Refuse it instead (ids are checked by VMIdentity).
        private static func refuseNUL(_ column: String, _ value: String?, of identity: VMIdentity) throws {
            if value?.utf8.contains(0) == true { throw StoreError(.unstorableText(identity, column: column)) }
        }

        /// No row: the pair is not recorded. More than one: impossible under
        /// `vms_identity`, so loud (the transaction rolls back).
        private func expectOneChange(_ changed: Int, _ identity: VMIdentity, _ operation: String, reference: VMReference? = nil) throws {
            if changed == 1 { return }
            if changed == 0 { throw StoreError(.notFound(reference ?? identity.reference)) }
            throw StoreError(.unexpectedChangeCount(identity, operation: operation, changed: changed))
        }
    }

    /// Runs `body` in one write transaction (`BEGIN IMMEDIATE`): everything it
    /// writes commits together, or, when it throws, nothing does.
    ///
    /// This is how another module combines store writes with its own statements
    /// atomically. Repair, for example, records an orphan and its audit row together:
    ///
    /// ```swift
    /// try store.write { writer in
    ///     let record = try writer.provision(vm, origin: .repair)
    ///     try writer.database.execute(
    ///         sql: "INSERT INTO vm_repairs (network, vm_id, action, source, entry, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
    ///         arguments: [record.network, record.vmID, "recorded", source, entry, record.createdAt])
    /// }
    /// ```
    ///
    /// Writes are serialized; readers keep reading the last committed state
    /// meanwhile. Keep the body short (no network calls): it holds the
    /// database's write lock, which the deployer also needs. Do not call the
    /// store's own methods from inside the body (use the writer's): the
    /// writer connection is not reentrant.
    ///
    /// - Throws: What `body` throws (the transaction is rolled back), or
    ///   ``StoreError`` (`busy` when another process held the write lock past
    ///   the busy timeout; SQLite errors translated).
    public func write<T>(_ body: (Writer) throws -> T) throws -> T {
        do {
            return try writer.write { db in try Writer.run(db, statements: schemaWatch.schema(db).statements, path: path, clock: clock, body) }
        } catch {
            throw Self.translate(error, path: path)
        }
    }

    // MARK: One-operation writes, each in its own transaction

    /// Records a VM (see ``Writer/provision(_:origin:)``).
    ///
    /// - Throws: ``StoreError``: `alreadyRecorded`, `idOnAnotherNetwork` (on a v2 database), `unstorableText`, `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func provision(_ vm: NewVM, origin: VMOrigin = .provision) throws -> VMRecord {
        try write { try $0.provision(vm, origin: origin) }
    }

    /// Deletes the VM the reference names and returns it as it was.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func delete(_ reference: VMReference) throws -> VMRecord {
        try write { try $0.delete(reference) }
    }

    /// Records the version installed on the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordInstalledVersion(_ version: String?, for reference: VMReference) throws -> VMChange {
        try write { try $0.recordInstalledVersion(version, for: reference) }
    }

    /// Records an update found available for the VM the reference names (nil: none).
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordAvailableUpdate(_ version: String?, for reference: VMReference) throws -> VMChange {
        try write { try $0.recordAvailableUpdate(version, for: reference) }
    }

    /// Records when updates were last checked for the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordUpdateCheck(for reference: VMReference, at date: Date? = nil) throws -> VMChange {
        try write { try $0.recordUpdateCheck(for: reference, at: date) }
    }

    /// Records the status of the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordStatus(_ status: VMStatus, for reference: VMReference) throws -> VMChange {
        try write { try $0.recordStatus(status, for: reference) }
    }

    /// Appends an event to the history of the VM the reference names.
    ///
    /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `busy`, `databaseFailure`; then nothing was written.
    @discardableResult
    public func recordEvent(_ kind: String, detail: String? = nil, for reference: VMReference, at date: Date? = nil) throws -> VMEvent {
        try write { try $0.recordEvent(kind, detail: detail, for: reference, at: date) }
    }
}
