import PostgresNIO

/// Why vmdb could not work with a PostgreSQL server, naming the location with its password masked.
/// PostgresNIO's own errors say little on purpose (so they leak nothing); this says what happened and
/// what to check, and never holds the driver's error text, which could quote a connection string.
public enum PostgresConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server refused the login (SQLSTATE class 28: a wrong password, an unknown role, pg_hba.conf).
    case authenticationFailed(location: String, sqlState: String, message: String)
    /// No connection: nothing listens there, the name does not resolve, TLS failed, or it timed out.
    case unreachable(location: String, reason: String)
    /// The server answered with an error (its SQLSTATE and message).
    case server(location: String, sqlState: String, message: String)

    public var description: String {
        switch self {
        case .authenticationFailed(let location, let sqlState, let message):
            return "\(location): the server refused the login (SQLSTATE \(sqlState): \(message)); check the user "
                + "and the password (URL, PGPASSWORD, ~/.pgpass or PGPASSFILE)"
        case .unreachable(let location, let reason):
            return "\(location): cannot connect (\(reason)); check that the server runs and the host, port and sslmode"
        case .server(let location, let sqlState, let message):
            return "\(location): the server said SQLSTATE \(sqlState): \(message)"
        }
    }

    /// The typed error for what PostgresNIO threw at `location`.
    package init(_ error: any Error, at location: PostgresLocation) {
        let named = location.description
        guard let error = error as? PSQLError else {
            self = .unreachable(location: named, reason: String(describing: type(of: error)))
            return
        }
        if error.code == .server, let info = error.serverInfo {
            let sqlState = info[.sqlState] ?? "?????"
            let message = info[.message] ?? "no message"
            self = sqlState.hasPrefix("28")
                ? .authenticationFailed(location: named, sqlState: sqlState, message: message)
                : .server(location: named, sqlState: sqlState, message: message)
        } else if let underlying = error.underlying {
            self = .unreachable(location: named, reason: "\(error.code): \(underlying)")
        } else {
            self = .unreachable(location: named, reason: "\(error.code)")
        }
    }
}
