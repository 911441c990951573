import Foundation

/// Where a PostgreSQL database is and how to log in to it, from a `postgres://` URL and libpq's rules for
/// what the URL leaves out: a service (`service=` or `PGSERVICE`) from a service file, then the
/// environment (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`, `PGSSLMODE`, …), then the
/// password file, then libpq's defaults. Its description, and every error about it, masks the password.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// A Unix socket: the folder libpq would name in `host`, and the port in the socket's name.
        case socket(folder: String, port: Int)
    }

    /// Where the password came from; never the password.
    public enum PasswordSource: Sendable, Equatable {
        case url, service, environment
        case passwordFile(path: String)
        case none
    }

    /// What the pool may hold (`pool_min`, `pool_max`).
    public struct PoolOptions: Sendable, Equatable {
        public var minimumConnections = 0
        public var maximumConnections = 20
        public init() {}
    }

    public let endpoint: Endpoint
    public let user: String
    /// `internal(set)`: a scratch database on the same server is this location with another name (`onDatabase`).
    public internal(set) var database: String
    let password: Password?
    public let passwordSource: PasswordSource
    public let sslMode: SSLMode
    /// The CA's file, or "system" for the system's trusted roots; nil when `sslmode` verifies nothing.
    public let sslRootCertificate: String?
    public let applicationName: String?
    public let connectTimeout: Duration?
    public let pool: PoolOptions
    /// Why a setting was not used (a password file others may read); for the operator to see.
    public let warnings: [String]
    /// The URL as given, password masked, for errors about it.
    let maskedURL: String

    /// libpq's default socket folder on Debian.
    static let defaultSocketFolder = "/var/run/postgresql"

    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let parsed = try PostgresURL(url)
        maskedURL = parsed.masked
        let home = environment["HOME"] ?? NSHomeDirectory()

        var settings = parsed.settings
        var fromService: Set<String> = []
        if let service = settings["service"] ?? environment["PGSERVICE"] {
            let found = try Self.serviceSettings(service, environment: environment, home: home)
            for (key, value) in found where settings[key] == nil {
                settings[key] = value
                fromService.insert(key)
            }
        }
        let fromEnvironment = [
            "host": "PGHOST", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD",
            "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "application_name": "PGAPPNAME",
            "connect_timeout": "PGCONNECT_TIMEOUT",
        ]
        for (key, variable) in fromEnvironment where settings[key] == nil {
            if let value = environment[variable], !value.isEmpty { settings[key] = value }
        }

        let port = try Self.integer(settings["port"] ?? "5432", option: "port", in: 1...65535, url: maskedURL)
        let host = settings["host"] ?? Self.defaultSocketFolder
        endpoint = host.hasPrefix("/") ? .socket(folder: host, port: port) : .tcp(host: host, port: port)
        user = settings["user"] ?? NSUserName()
        database = settings["dbname"] ?? user

        var warnings: [String] = []
        if let password = settings["password"] {
            self.password = Password(password)
            passwordSource = parsed.settings["password"] != nil ? .url
                : fromService.contains("password") ? .service : .environment
        } else {
            let path = environment["PGPASSFILE"] ?? (home as NSString).appendingPathComponent(".pgpass")
            // libpq matches a socket in its default folder as "localhost".
            let hostForFile = host == Self.defaultSocketFolder ? "localhost" : host
            switch PasswordFile(path: path).password(host: hostForFile, port: port, database: database, user: user) {
            case .found(let password):
                self.password = Password(password)
                passwordSource = .passwordFile(path: path)
            case .ignored(let warning):
                warnings.append(warning)
                (self.password, passwordSource) = (nil, .none)
            case .notFound:
                (self.password, passwordSource) = (nil, .none)
            }
        }
        self.warnings = warnings

        let mode = settings["sslmode"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw PostgresLocationError.invalidOption(url: maskedURL, option: "sslmode", value: mode, expected: SSLMode.expected)
        }
        self.sslMode = sslMode
        switch (sslMode, settings["sslrootcert"]) {
        case (.disable, _), (.prefer, _): sslRootCertificate = nil
        case (.require, let named): sslRootCertificate = named   // verifies only when a CA is named, as libpq
        case (.verifyCA, let named), (.verifyFull, let named):
            // libpq's default CA file; that it exists is checked when connecting, as libpq does.
            sslRootCertificate = named ?? (home as NSString).appendingPathComponent(".postgresql/root.crt")
        }
        applicationName = settings["application_name"]
        if let seconds = settings["connect_timeout"] {
            connectTimeout = .seconds(try Self.integer(seconds, option: "connect_timeout", in: 1...86_400, url: maskedURL))
        } else {
            connectTimeout = nil
        }
        var pool = PoolOptions()
        if let minimum = settings["pool_min"] {
            pool.minimumConnections = try Self.integer(minimum, option: "pool_min", in: 0...10_000, url: maskedURL)
        }
        if let maximum = settings["pool_max"] {
            pool.maximumConnections = try Self.integer(maximum, option: "pool_max", in: 1...10_000, url: maskedURL)
        }
        guard pool.minimumConnections <= pool.maximumConnections else {
            throw PostgresLocationError.invalidOption(
                url: maskedURL, option: "pool_min", value: String(pool.minimumConnections),
                expected: "no more than pool_max (\(pool.maximumConnections))")
        }
        self.pool = pool
    }

    /// Whether `text` names a PostgreSQL database (`postgres://…` or `postgresql://…`, as libpq reads a
    /// connection URI) rather than a file: how a configuration value picks the engine.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The location as a URL with the password masked: what vmdb prints.
    public var description: String {
        var text = "postgres://" + Self.escaped(user)
        if password != nil { text += ":***" }
        var options: [String] = []
        switch endpoint {
        case .tcp(let host, let port):
            text += "@" + (host.contains(":") ? "[\(host)]" : Self.escaped(host)) + ":\(port)"
        case .socket(let folder, let port):
            text += "@:\(port)"
            options.append("host=" + Self.escaped(folder))
        }
        text += "/" + Self.escaped(database)
        if sslMode != .prefer { options.append("sslmode=" + sslMode.rawValue) }
        if let sslRootCertificate { options.append("sslrootcert=" + Self.escaped(sslRootCertificate)) }
        return options.isEmpty ? text : text + "?" + options.joined(separator: "&")
    }

    public var debugDescription: String {
        "PostgresLocation(\(description), password from \(passwordSource))"
    }

    /// The password for the driver, and nowhere else.
    var passwordValue: String? { password?.value }

    private static func escaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@/?&=")))
            ?? text
    }

    private static func integer(_ text: String, option: String, in range: ClosedRange<Int>, url: String) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw PostgresLocationError.invalidOption(
                url: url, option: option, value: text,
                expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// libpq's search: the user's file (`PGSERVICEFILE` or `~/.pg_service.conf`), then the system's
    /// (`PGSYSCONFDIR/pg_service.conf`, on Debian /etc/postgresql-common).
    private static func serviceSettings(_ service: String, environment: [String: String], home: String) throws
        -> [String: String]
    {
        let files = [
            environment["PGSERVICEFILE"] ?? (home as NSString).appendingPathComponent(".pg_service.conf"),
            ((environment["PGSYSCONFDIR"] ?? "/etc/postgresql-common") as NSString).appendingPathComponent("pg_service.conf"),
        ]
        for path in files {
            if let settings = try ServiceFile(path: path).settings(of: service) { return settings }
        }
        throw PostgresLocationError.serviceNotFound(service: service, searched: files)
    }
}
