import PostgresNIO
import VMStore

/// PostgreSQL's errors in the store's terms, by SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html):
/// the same ``StoreError`` codes as SQLite's, so a deployer matches one set whatever its database.
enum PostgresFailure {
    /// SQLSTATEs after which the transaction can simply run again: `40001` serialization_failure,
    /// `40P01` deadlock_detected, `55P03` lock_not_available (a `lock_timeout`), and `23505`
    /// unique_violation on a key two transactions inserted at once (the identity's own is not one:
    /// the store inserts a VM with `ON CONFLICT` on it, and reports `alreadyRecorded`).
    static let retryable: Set<String> = ["40001", "40P01", "55P03", "23505"]

    /// The store's error for what PostgresNIO threw; any other error (the store's own, or what the
    /// body of a `write` threw) passes through, as on SQLite.
    static func storeError(_ error: any Error, location: String) -> any Error {
        guard let error = error as? PSQLError else { return error }
        if error.code == .server, let info = error.serverInfo {
            let sqlState = info[.sqlState] ?? "?????"
            // The server's message names the constraint or the relation; its detail line, which can
            // quote a row's values, is left out.
            let message = info[.message] ?? "no message"
            if retryable.contains(sqlState) {
                return StoreError(.serverBusy(location: location, sqlState: sqlState, detail: message))
            }
            if sqlState.hasPrefix("28") {
                return StoreError(.unusableDatabase(path: location, reason: "the server refused the login (SQLSTATE \(sqlState)): check the user and the password (URL, PGPASSWORD, ~/.pgpass or PGPASSFILE)"))
            }
            if sqlState == "3D000" {
                return StoreError(.unusableDatabase(path: location, reason: "no such database (SQLSTATE 3D000): check the URL's database name"))
            }
            return StoreError(.serverFailure(location: location, sqlState: sqlState, detail: message))
        }
        return StoreError(.unusableDatabase(path: location, reason: "the connection failed (\(error.code)): check that the server runs, and the host, port and sslmode"))
    }

    /// Whether the connection may be unusable after `error`: anything but the server's refusal of one
    /// statement (after which the connection is fine, once the transaction is rolled back).
    static func isBroken(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        return error.code != .server
    }

    /// The store's error for a connection that could not be opened.
    static func connectionFailed(_ error: any Error, location: String) -> StoreError {
        if let mapped = storeError(error, location: location) as? StoreError { return mapped }
        return StoreError(.unusableDatabase(path: location, reason: "cannot reach the server (\(type(of: error))): check that it runs, and the host, port and sslmode"))
    }

    static func closed(_ location: String) -> StoreError {
        StoreError(.unusableDatabase(path: location, reason: "the store is closed"))
    }
}
