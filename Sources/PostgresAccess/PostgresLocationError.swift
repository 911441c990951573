/// Why a PostgreSQL location could not be read. Each message names the URL as the operator gave it,
/// with its password masked (`PostgresURL.masked`), and says what to change.
public enum PostgresLocationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text does not start with `postgres://` or `postgresql://`.
    case notAPostgresURL(url: String)
    /// The URL's shape is wrong: a bad port, a bad percent-escape, several hosts.
    case malformed(url: String, problem: String)
    /// A query option libpq and vmdb do not know (libpq refuses these too).
    case unknownOption(url: String, option: String)
    /// A known option with a value it cannot take.
    case invalidOption(url: String, option: String, value: String, expected: String)
    /// `service=` or `PGSERVICE` names a service that no service file defines.
    case serviceNotFound(service: String, searched: [String])
    /// A service file that exists but cannot be read as one.
    case badServiceFile(path: String, line: Int, problem: String)
    /// `sslmode=verify-ca` or `verify-full` without a CA to verify the server with.
    case missingRootCertificate(url: String, path: String)

    public var description: String {
        switch self {
        case .notAPostgresURL(let url):
            return "'\(url)' is not a PostgreSQL URL: it must start with postgres:// or postgresql://"
        case .malformed(let url, let problem):
            return "\(url): \(problem)"
        case .unknownOption(let url, let option):
            return "\(url): unknown option '\(option)'; the options are \(PostgresURL.queryOptions.sorted().joined(separator: ", "))"
        case .invalidOption(let url, let option, let value, let expected):
            return "\(url): \(option)=\(value) is not valid; expected \(expected)"
        case .serviceNotFound(let service, let searched):
            return "the PostgreSQL service '\(service)' is in none of \(searched.joined(separator: ", ")); "
                + "define it there as [\(service)] or set PGSERVICEFILE"
        case .badServiceFile(let path, let line, let problem):
            return "\(path):\(line): \(problem)"
        case .missingRootCertificate(let url, let path):
            return "\(url): the root certificate file \(path) does not exist; name the CA with sslrootcert=FILE, "
                + "use the system's trusted roots with sslrootcert=system, or choose an sslmode that does not verify"
        }
    }
}
