import Foundation

extension PostgresLocation {
    /// The environment of a libpq tool (pg_dump, pg_restore, psql) reaching this location: the
    /// caller's environment without its own `PG*` settings (this location has already resolved the
    /// URL, service, password file and defaults), then this location's, the password among them.
    /// Never its command line: `ps` shows every process's arguments to every user.
    package func libpqEnvironment(base: [String: String] = ProcessInfo.processInfo.environment) -> [String: String] {
        var environment = base.filter { !$0.key.hasPrefix("PG") }
        switch endpoint {
        case .tcp(let host, let port):
            environment["PGHOST"] = host
            environment["PGPORT"] = String(port)
        case .socket(let folder, let port):
            environment["PGHOST"] = folder
            environment["PGPORT"] = String(port)
        }
        environment["PGUSER"] = user
        environment["PGDATABASE"] = database
        if let passwordValue { environment["PGPASSWORD"] = passwordValue }
        environment["PGSSLMODE"] = sslMode.rawValue
        // libpq 15 reads "system" as a file name: the system's bundle is that file on Debian.
        if let sslRootCertificate {
            environment["PGSSLROOTCERT"] = sslRootCertificate == "system" ? "/etc/ssl/certs/ca-certificates.crt" : sslRootCertificate
        }
        if let applicationName { environment["PGAPPNAME"] = applicationName }
        if let connectTimeout { environment["PGCONNECT_TIMEOUT"] = String(connectTimeout.components.seconds) }
        // A tool that cannot reach the server gives up instead of waiting forever.
        environment["PGCONNECT_TIMEOUT"] = environment["PGCONNECT_TIMEOUT"] ?? "30"
        return environment
    }

    /// `text` (a tool's message) with this location's password replaced by `***`, should a server or
    /// tool ever quote it.
    package func masking(_ text: String) -> String {
        guard let passwordValue, !passwordValue.isEmpty else { return text }
        return text.replacingOccurrences(of: passwordValue, with: "***")
    }

    /// The same server, user and settings, another database (a scratch copy beside the live one).
    package func onDatabase(_ name: String) -> PostgresLocation {
        var location = self
        location.database = name
        return location
    }
}
