import Foundation
import GRDB

/// The store on a SQLite file: its own connections (one writer, read-only readers), or the deployer's
/// GRDB queue or pool. Writes run in `BEGIN IMMEDIATE` transactions; the schema a transaction reads is
/// checked in it (``SchemaWatch``), so the store follows a migration run while it is open.
final class SQLiteStoreEngine: StoreEngine {
    let location: String
    /// Which schema each connection reads, checked in every transaction.
    let schemaWatch: SchemaWatch
    /// The store's own writer connection, or the deployer's `DatabaseQueue` or `DatabasePool`.
    let writer: any DatabaseWriter
    /// The store's own read-only connections; nil on the deployer's connections, which read through `writer`.
    let readers: ReaderConnections?

    var schemaVersion: Int { schemaWatch.version }

    /// Opens the existing database at `path` with connections of its own (``VMStore/init(path:options:)``).
    init(path: String, options: VMStore.Options) throws {
        let journal = try VMStore.checkExistingDatabase(path)
        let version = try VMStore.recoveringHotJournal(path) {
            try VMStore.checkSchemaVersion(path, busyTimeout: options.busyTimeout)
        }
        var configuration = Configuration()
        configuration.label = "vmdb.store.writer"
        configuration.busyMode = .timeout(options.busyTimeout)
        // No `journalMode`: GRDB's `.wal` would switch a rollback-journal database to
        // WAL (rewriting its header) and, on an empty -wal file, create and drop a
        // table. The store works in the mode the file is in; for a rollback journal,
        // its writes use the variant the operator's connections leave behind.
        let rollbackPragma = journal.rollbackPragma(journalPath: path + "-journal")
        configuration.prepareDatabase { db in
            if let rollbackPragma, try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" {
                // A rollback variant is per connection: setting it writes nothing.
                try db.execute(sql: rollbackPragma)
            }
        }
        // The v3 schema declares vm_events(network, vm_id) → vms with ON DELETE
        // CASCADE: a deleted VM takes its events with it, as the deployer expects.
        configuration.foreignKeysEnabled = true
        let writer: DatabaseQueue
        do {
            writer = try DatabaseQueue(path: path, configuration: configuration)
            // Per connection, and only the writer commits.
            try writer.inDatabase { db in
                try db.execute(sql: options.isDurable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            }
        } catch {
            throw VMStore.translateOpening(error, path: path)
        }
        self.location = path
        self.schemaWatch = SchemaWatch(path: path, version: version, trustsDataVersion: true)
        self.writer = writer
        self.readers = ReaderConnections(path: path, maximumCount: options.maximumReaderCount, busyTimeout: options.busyTimeout)
    }

    /// Opens on the deployer's connections (``VMStore/init(writer:clock:)``).
    init(writer: some DatabaseWriter) throws {
        let path = writer.path
        do {
            let version = try writer.read { db in try VMStore.checkSchemaVersion(db, path: path) }
            self.schemaWatch = SchemaWatch(path: path, version: version, trustsDataVersion: false)
            // Connection settings, read on the connection that writes: reading a
            // pragma writes nothing.
            let (journalMode, foreignKeys) = try writer.writeWithoutTransaction { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false)
            }
            if journalMode.lowercased() == "off" {
                throw StoreError(.unsupportedJournalMode(path: path, mode: "OFF", why: "without a journal SQLite cannot roll a write back, and the store rolls back every write that fails part way. Open the connection with journal_mode DELETE, TRUNCATE, PERSIST or WAL (for a DatabasePool, WAL is set for you)"))
            }
            guard foreignKeys else {
                throw StoreError(.unusableDatabase(path: path, reason: "the given connection has foreign keys off (Configuration.foreignKeysEnabled = false); the store needs them on, so that a deleted VM takes its events with it (ON DELETE CASCADE). Open the connection with foreign keys on, GRDB's default"))
            }
        } catch {
            throw VMStore.translateOpening(error, path: path)
        }
        self.location = path
        self.writer = writer
        self.readers = nil
    }

    func close() throws {
        guard let readers else { return }
        try readers.close()
        try writer.close()
    }

    private func statements(_ db: Database, _ queries: VMQueries.Statements) -> SQLiteStatements {
        SQLiteStatements(database: db, queries: queries, path: location, unobserved: nil)
    }

    // MARK: Reading

    /// On the store's own connections, a single statement runs without a snapshot transaction
    /// (`BEGIN`/`COMMIT`): it reads one consistent state by itself.
    func read<T>(snapshot: Bool, _ body: (any StoreStatements) throws -> T) throws -> T {
        let watch = schemaWatch
        do {
            guard let readers else { return try writer.read { db in try watch.reading(db) { try body(statements(db, $0)) } } }
            return try recoveringHotJournal {
                try readers.withConnection { connection in
                    snapshot
                        ? try connection.read { db in try watch.reading(db) { try body(statements(db, $0)) } }
                        : try connection.inDatabase { db in try watch.reading(db) { try body(statements(db, $0)) } }
                }
            }
        } catch {
            throw VMStore.translate(error, path: location)
        }
    }

    /// Runs `body`; when a read-only connection met a hot journal (a writer
    /// crashed mid-transaction since the store opened), rolls it back through
    /// the writer connection, which may write, and runs `body` once more.
    private func recoveringHotJournal<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_READONLY_ROLLBACK {
            try VMStore.rollBackHotJournal(writer)
            return try body()
        }
    }

    /// Suspends while it waits: the statement runs on the connection's own dispatch queue.
    func read<T: Sendable>(snapshot: Bool, _ body: @escaping @Sendable (any StoreStatements) throws -> T) async throws -> T {
        let (watch, path) = (schemaWatch, location)
        let read: @Sendable (Database) throws -> T = { db in
            try watch.reading(db) { try body(SQLiteStatements(database: db, queries: $0, path: path, unobserved: nil)) }
        }
        do {
            guard let readers else { return try await writer.read(read) }
            return try await recoveringHotJournal {
                try await readers.withConnection { snapshot ? try await $0.read(read) : try await $0.unsafeRead(read) }
            }
        } catch {
            throw VMStore.translate(error, path: location)
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

    // MARK: Writing

    func write<T>(_ body: (any StoreStatements) throws -> T) throws -> T {
        do {
            return try writer.write { db in try Self.transaction(db, schemaWatch.schema(db).statements, path: location, body) }
        } catch {
            throw VMStore.translate(error, path: location)
        }
    }

    func write<T: Sendable>(_ body: @Sendable (any StoreStatements) throws -> T) async throws -> T {
        let (watch, path) = (schemaWatch, location)
        do {
            return try await writer.write { db in try Self.transaction(db, watch.schema(db).statements, path: path, body) }
        } catch {
            throw VMStore.translate(error, path: location)
        }
    }

    /// Runs `body` on the statements of one write transaction, then tells GRDB's observers
    /// (ValueObservation, TransactionObserver on the deployer's own pool) that it wrote through the
    /// C API: once per transaction, before it commits, so a batch pays for one notice.
    ///
    /// The whole database is notified, not `vms` and `vm_events` alone: an operator's
    /// trigger, or a foreign key's cascade, writes other tables in the same statement
    /// (an audit table on delete), and their observers must hear of it too. Observers get
    /// `databaseDidChange()`, never a per-row `DatabaseEvent`, for these writes: GRDB's
    /// update hook is not installed for statements it did not step.
    private static func transaction<T>(_ db: Database, _ queries: VMQueries.Statements, path: String,
                                       _ body: (any StoreStatements) throws -> T) throws -> T {
        let unobserved = SQLiteStatements.UnobservedWrites()
        let result = try body(SQLiteStatements(database: db, queries: queries, path: path, unobserved: unobserved))
        if unobserved.happened { try db.notifyChanges(in: DatabaseRegion.fullDatabase) }
        return result
    }
}
