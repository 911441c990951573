import Foundation
import GRDBSQLite
import PostgresAccess
import PostgresNIO
import VMStore
import VMStorePostgres

/// The database under a contract test's store, reached beside it: as another deployer would.
enum ContractDatabase: Sendable {
    case sqlite(path: String)
    case postgres(ScratchDatabase)

    /// A second store on the same database.
    func openStore() throws -> VMStore {
        switch self {
        case .sqlite(let path): try VMStore(path: path)
        case .postgres(let database): try VMStore(postgres: try PostgresLocation(url: database.url))
        }
    }

    /// Deletes every VM, event, repair and intent, as another connection.
    func empty() throws {
        switch self {
        case .sqlite(let path):
            var other: OpaquePointer?
            defer { sqlite3_close(other) }
            guard sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK,
                  sqlite3_exec(other, "DELETE FROM vm_events; DELETE FROM vms; DELETE FROM vm_repairs; DELETE FROM provision_intents",
                               nil, nil, nil) == SQLITE_OK else {
                throw ContractDatabaseError.cannotEmpty(path)
            }
        case .postgres(let database):
            try ScratchDatabase.run(on: database.url, ["TRUNCATE vms, vm_events, vm_repairs, provision_intents"])
        }
    }

    /// Every `vm_repairs` row but its id, in id order, read as another connection.
    func repairRows() throws -> [[String]] {
        let columns = "network, vm_id, action, source, entry, recorded_at"
        switch self {
        case .sqlite(let path):
            var other: OpaquePointer?
            defer { sqlite3_close(other) }
            var statement: OpaquePointer?
            defer { sqlite3_finalize(statement) }
            guard sqlite3_open_v2(path, &other, SQLITE_OPEN_READONLY, nil) == SQLITE_OK,
                  sqlite3_prepare_v2(other, "SELECT \(columns) FROM vm_repairs ORDER BY id", -1, &statement, nil) == SQLITE_OK else {
                throw ContractDatabaseError.cannotRead(path)
            }
            var rows: [[String]] = []
            while sqlite3_step(statement) == SQLITE_ROW {
                rows.append((0..<6).map { String(cString: sqlite3_column_text(statement, $0)) })
            }
            return rows
        case .postgres(let database):
            let other = try ScratchDatabase.connect(to: database.url)
            defer { try? other.close().wait() }
            let result = try other.query(PostgresQuery(unsafeSQL: "SELECT \(columns) FROM vm_repairs ORDER BY id"), logger: ScratchDatabase.logger).wait()
            return try result.rows.map { row in try row.makeRandomAccess().map { try $0.decode(String.self) } }
        }
    }

    /// Runs `body` while another connection holds what every write needs: SQLite's write lock
    /// (`BEGIN IMMEDIATE`), or on PostgreSQL a lock on `vms` that conflicts with every row change
    /// (`SHARE ROW EXCLUSIVE`, which readers do not wait for), released after `body`.
    func holdingWriteLock<T>(_ body: () throws -> T) throws -> T {
        switch self {
        case .sqlite(let path):
            // SQLite's own API: GRDB refuses to leave a transaction open beyond one access.
            var other: OpaquePointer?
            guard sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK,
                  sqlite3_exec(other, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else {
                sqlite3_close(other)
                throw ContractDatabaseError.cannotLock(path)
            }
            defer {
                sqlite3_exec(other, "ROLLBACK", nil, nil, nil)
                sqlite3_close(other)
            }
            return try body()
        case .postgres(let database):
            let other = try ScratchDatabase.connect(to: database.url)
            defer { try? other.close().wait() }
            _ = try other.query("BEGIN", logger: ScratchDatabase.logger).wait()
            _ = try other.query("LOCK TABLE vms IN SHARE ROW EXCLUSIVE MODE", logger: ScratchDatabase.logger).wait()
            defer { _ = try? other.query("ROLLBACK", logger: ScratchDatabase.logger).wait() }
            return try body()
        }
    }
}

enum ContractDatabaseError: Error {
    case cannotLock(String)
    case cannotEmpty(String)
    case cannotRead(String)
}
