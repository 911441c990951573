import Foundation
import NIOSSL
import PostgresNIO

extension PostgresLocation {
    /// PostgresNIO's pool settings for this location: endpoint, credentials, the pool, and TLS as libpq
    /// means `sslmode` (prefer and require check nothing unless a CA is named; verify-ca checks the CA;
    /// verify-full checks the CA and that the certificate names the host).
    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        switch (endpoint, try tls()) {
        case (.tcp(let host, let port), let tls):
            let mode: PostgresClient.Configuration.TLS =
                switch tls {
                case .disable: .disable
                case .prefer(let settings): .prefer(settings)
                case .require(let settings): .require(settings)
                }
            configuration = .init(host: host, port: port, username: user, password: passwordValue, database: database, tls: mode)
        case (.socket, _):
            configuration = .init(unixSocketPath: socketPath, username: user, password: passwordValue, database: database)
        }
        configuration.options.minimumConnections = pool.minimumConnections
        configuration.options.maximumConnections = pool.maximumConnections
        if let connectTimeout { configuration.options.connectTimeout = connectTimeout }
        if let applicationName { configuration.options.additionalStartupParameters = [("application_name", applicationName)] }
        return configuration
    }

    /// The same settings for one connection, outside a pool.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        switch (endpoint, try tls()) {
        case (.tcp(let host, let port), let tls):
            let mode: PostgresConnection.Configuration.TLS =
                switch tls {
                case .disable: .disable
                case .prefer(let settings): .prefer(try NIOSSLContext(configuration: settings))
                case .require(let settings): .require(try NIOSSLContext(configuration: settings))
                }
            configuration = .init(host: host, port: port, username: user, password: passwordValue, database: database, tls: mode)
        case (.socket, _):
            configuration = .init(unixSocketPath: socketPath, username: user, password: passwordValue, database: database)
        }
        if let connectTimeout { configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds) }
        if let applicationName { configuration.options.additionalStartupParameters = [("application_name", applicationName)] }
        return configuration
    }

    /// libpq's socket name in the folder; no TLS over it, as libpq.
    private var socketPath: String {
        guard case .socket(let folder, let port) = endpoint else { preconditionFailure("not a socket: \(self)") }
        return (folder as NSString).appendingPathComponent(".s.PGSQL.\(port)")
    }

    private enum TLSChoice {
        case disable
        case prefer(TLSConfiguration)
        case require(TLSConfiguration)
    }

    private func tls() throws -> TLSChoice {
        var settings = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable: return .disable
        case .prefer:
            settings.certificateVerification = .none
            return .prefer(settings)
        case .require where sslRootCertificate == nil:
            settings.certificateVerification = .none
            return .require(settings)
        case .require, .verifyCA:
            settings.certificateVerification = .noHostnameVerification
        case .verifyFull:
            settings.certificateVerification = .fullVerification
        }
        if let sslRootCertificate, sslRootCertificate != "system" {
            guard FileManager.default.fileExists(atPath: sslRootCertificate) else {
                throw PostgresLocationError.missingRootCertificate(url: maskedURL, path: sslRootCertificate)
            }
            settings.trustRoots = .file(sslRootCertificate)
        }
        return .require(settings)
    }
}
