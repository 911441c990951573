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
        /// The SQLite connection, inside the open transaction: for statements of your
        /// own (an audit row, …) in the same transaction. Bind every value.
        ///
        /// A store on SQLite only: a store on PostgreSQL has no GRDB connection, and
        /// asking for one is a programmer error.
        public var database: Database {
            guard let sqlite = statements as? SQLiteStatements else {
                preconditionFailure("VMStore.Writer.database: this store is not on SQLite; use the writer's own methods")
            }
            return sqlite.database
        }
        /// The engine's statements inside this transaction (the schema cannot change under it).
        let statements: any StoreStatements
        let clock: @Sendable () -> Date

        init(statements: any StoreStatements, clock: @escaping @Sendable () -> Date) {
            self.statements = statements
            self.clock = clock
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
            try Self.refuseNUL("name", vm.name, of: identity)
            try Self.refuseNUL("status", vm.status.rawValue, of: identity)
            try Self.refuseNUL("ipv4", vm.ipv4, of: identity)
            try Self.refuseNUL("ipv6", vm.ipv6, of: identity)
            try Self.refuseNUL("mycelium_ip", vm.myceliumIP, of: identity)
            try Self.refuseNUL("flist", vm.flist, of: identity)
            try Self.refuseNUL("installed_version", vm.installedVersion, of: identity)
            try Self.refuseNUL("metadata", vm.metadata, of: identity)
            let inserted = try statements.insert(vm, origin: origin, at: timestamp)
            try expectOneChange(inserted.changed, identity, "provision")
            return VMRecord(
                rowID: inserted.rowID, identity: identity, name: vm.name, nodeID: vm.nodeID,
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
            try statements.vm(identity)
        }

        /// The one VM the reference names (see ``VMStore/vm(_:)-(VMReference)``).
        ///
        /// - Throws: ``StoreError``: `notFound`, or `ambiguous` naming every network that has the id.
        public func vm(_ reference: VMReference) throws -> VMRecord {
            try statements.resolve(reference)
        }

        /// The identity the reference names, by the ambiguity rule.
        ///
        /// - Throws: ``StoreError``: `notFound`, or `ambiguous` naming every network that has the id.
        public func resolve(_ reference: VMReference) throws -> VMIdentity {
            try statements.resolveIdentity(reference)
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
            let deleted = try statements.delete(identity)
            try expectOneChange(deleted.count, identity, "delete", reference: reference)
            return deleted[0]
        }

        /// Records the version installed on the VM.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordInstalledVersion(_ version: String?, for reference: VMReference) throws -> VMChange {
            try update(.installedVersion, to: version, reference, "install")
        }

        /// Records an update found available for the VM (nil: none).
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordAvailableUpdate(_ version: String?, for reference: VMReference) throws -> VMChange {
            try update(.availableVersion, to: version, reference, "update")
        }

        /// Records when updates were checked for the VM (by default, now).
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordUpdateCheck(for reference: VMReference, at date: Date? = nil) throws -> VMChange {
            try update(.updatesCheckedAt, to: Timestamp.string(from: date ?? clock()), reference, "check-updates")
        }

        /// Records the VM's status.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordStatus(_ status: VMStatus, for reference: VMReference) throws -> VMChange {
            try update(.status, to: status.rawValue, reference, "status change")
        }

        /// Appends an event to the VM's history.
        ///
        /// - Returns: The event as stored.
        ///
        /// - Throws: ``StoreError``: `notFound`, `ambiguous` (an id alone that several networks have), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        @discardableResult
        public func recordEvent(_ kind: String, detail: String? = nil, for reference: VMReference, at date: Date? = nil) throws -> VMEvent {
            let identity = try resolve(reference)
            guard try statements.vm(identity) != nil else { throw StoreError(.notFound(reference)) }
            try Self.refuseNUL("kind", kind, of: identity)
            try Self.refuseNUL("detail", detail, of: identity)
            let at = Timestamp.string(from: date ?? clock())
            let inserted = try statements.insertEvent(identity, kind: kind, at: at, detail: detail)
            try expectOneChange(inserted.changed, identity, "event")
            return VMEvent(rowID: inserted.rowID, identity: identity, kind: kind, at: at, detail: detail)
        }

        /// Appends an audit row to `vm_repairs`: what repair did to the VM (`action`), from which
        /// inventory (`source`) and the daemon's entry as it was (`entry`), at `recordedAt`. The row
        /// stays when the VM is deleted; nothing checks that the VM is recorded.
        ///
        /// - Throws: ``StoreError``: `unstorableText` (a NUL character), `schemaTooOld` (v2 has no
        ///   `vm_repairs`), `databaseFailure`; the transaction then rolls back unless `body` catches it.
        public func recordRepair(_ identity: VMIdentity, action: String, source: String, entry: String, recordedAt: String) throws {
            try Self.refuseNUL("action", action, of: identity)
            try Self.refuseNUL("source", source, of: identity)
            try Self.refuseNUL("entry", entry, of: identity)
            try expectOneChange(try statements.insertRepair(identity, action: action, source: source, entry: entry, recordedAt: recordedAt),
                                identity, "repair audit")
        }

        private func update(_ column: VMColumn, to value: String?, _ reference: VMReference, _ operation: String) throws -> VMChange {
            let identity = try resolve(reference)
            try Self.refuseNUL(column.rawValue, value, of: identity)
            let changed = try statements.update(column, to: value, at: Timestamp.string(from: clock()), identity)
            try expectOneChange(changed, identity, operation, reference: reference)
            return VMChange(identity: identity, changedRows: changed)
        }

        /// GRDB binds text up to its first NUL, and reads it back only that far
        /// (`String(cString:)`): a value holding one would be stored or read cut
        /// short, silently; PostgreSQL's text cannot hold one at all. Refuse it
        /// instead, on every engine (ids are checked by VMIdentity).
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
    ///     try writer.recordRepair(record.identity, action: "recorded_orphan", source: source, entry: entry,
    ///                             recordedAt: record.createdAt)
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
        let clock = self.clock
        return try engine.write { try body(Writer(statements: $0, clock: clock)) }
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
