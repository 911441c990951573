import Foundation
import GRDB
import GRDBSQLite

/// The shapes of database the store reads and writes.
///
/// A deployer built on the store keeps running while `vmdb migrate --online`
/// moves its database from v2 to v3 (expand/contract: new code that works on both
/// schemas ships first). So the store tells the schema apart in every transaction
/// and runs the statements written for it.
enum StoreSchema: Sendable, Equatable {
    /// Version 2: a `network` column beside a globally unique `vm_id` (the same id
    /// on two networks is refused), and events keyed on `vm_id` alone.
    case v2
    /// Version 3: VMs keyed on `(network, vm_id)`.
    case v3
    /// Version 4, and later versions that declare they keep a v3 or v4 store working:
    /// v3 and the provision intents (`provision_intents`).
    case v4

    init(version: Int) { self = version == 2 ? .v2 : version == 3 ? .v3 : .v4 }

    var statements: VMQueries.Statements {
        switch self {
        case .v2: .v2
        case .v3: .v3
        case .v4: .v4
        }
    }
}

/// Which schema each of the store's connections is looking at, checked for the
/// price of one file-control call per transaction.
///
/// SQLite's data version (`SQLITE_FCNTL_DATA_VERSION`) moves whenever any
/// connection commits; only then is `PRAGMA schema_version` read, and only when
/// that moved too is the version read from the history again. A write checks
/// once, inside its `BEGIN IMMEDIATE` transaction, where nothing can change under
/// it. A read cannot know its snapshot before its first statement, so it checks
/// after it too, and runs again with the other statements if the schema moved.
final class SchemaWatch: @unchecked Sendable {
    private struct Seen {
        var dataVersion: UInt32
        var cookie: Int
        var version: Int
    }

    let path: String
    private let lock = NSLock()
    /// Per connection (its `sqlite3` handle), what it saw last.
    private var seen: [UnsafeMutableRawPointer: Seen] = [:]
    private var lastVersion: Int
    /// False on the deployer's connections: a pool may close one and open another
    /// at the same address, whose data version means nothing against the old one's,
    /// so the schema cookie is read every time. The store's own connections stay
    /// open until the store closes.
    private let trustsDataVersion: Bool

    init(path: String, version: Int, trustsDataVersion: Bool) {
        self.path = path
        self.lastVersion = version
        self.trustsDataVersion = trustsDataVersion
    }

    /// The version the store saw last, on any connection.
    var version: Int { lock.withLock { lastVersion } }

    /// The schema `db` reads now (inside a transaction, for the rest of it).
    func schema(_ db: Database) throws -> StoreSchema {
        guard let handle = db.sqliteConnection else { throw StoreError(.unusableDatabase(path: path, reason: "the connection is closed")) }
        let key = UnsafeMutableRawPointer(handle)
        var dataVersion: UInt32 = 0
        sqlite3_file_control(handle, "main", SQLITE_FCNTL_DATA_VERSION, &dataVersion)
        if trustsDataVersion, let known = lock.withLock({ seen[key] }), known.dataVersion == dataVersion {
            return StoreSchema(version: known.version)
        }
        let cookie = try Int.fetchOne(db.cachedStatement(sql: "PRAGMA schema_version")) ?? 0
        // The pragma's own read may have moved the data version: keep what it saw.
        sqlite3_file_control(handle, "main", SQLITE_FCNTL_DATA_VERSION, &dataVersion)
        let known = lock.withLock { seen[key] }
        let version: Int
        if let known, known.cookie == cookie {
            version = known.version
        } else {
            // Another process changed the schema: GRDB's schema cache on this connection
            // (tableExists, columns) still holds what it read before (a history table
            // created since would look absent).
            db.clearSchemaCache()
            version = try VMStore.checkSchemaVersion(db, path: path)
        }
        lock.withLock {
            seen[key] = Seen(dataVersion: dataVersion, cookie: cookie, version: version)
            lastVersion = version
        }
        return StoreSchema(version: version)
    }

    /// What `db` saw at its last check (the store's last version when it has none yet).
    private func lastSeen(_ db: Database) -> StoreSchema {
        let key = db.sqliteConnection.map { UnsafeMutableRawPointer($0) }
        return StoreSchema(version: lock.withLock { key.flatMap { seen[$0]?.version } ?? lastVersion })
    }

    /// Runs a read on the statements of the schema it turns out to read. Whatever it
    /// gave (rows or an error: the other schema's statement may not even compile, as
    /// v3's `origin` on v2 after a restore), it runs again if the schema moved.
    ///
    /// It starts on the schema this connection saw last (no check before: the one
    /// after the read is what tells which schema the read saw), so a lookup pays
    /// for one check, not two.
    func reading<T>(_ db: Database, _ body: (VMQueries.Statements) throws -> T) throws -> T {
        var schema = lastSeen(db)
        while true {
            let outcome = Result { try body(schema.statements) }
            let after = try self.schema(db)
            if after == schema { return try outcome.get() }
            schema = after
        }
    }
}
