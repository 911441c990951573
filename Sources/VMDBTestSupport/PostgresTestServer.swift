import Foundation

/// The PostgreSQL server the tests use: `VMDB_TEST_POSTGRES_URL`, which scripts/postgres-test-server
/// prints and .ci/run exports. Without it a test that needs the server fails with how to start one:
/// never a silent skip, so CI cannot pass without having run them.
public enum PostgresTestServer {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "VMDB_TEST_POSTGRES_URL (or _CA) is not set: the PostgreSQL tests need a server. Start one as root with "
                + "'eval \"$(scripts/postgres-test-server)\"' (after 'apt-get install postgresql-15'), then run the tests in that shell"
        }
    }

    public static func url() throws -> String { try variable("VMDB_TEST_POSTGRES_URL") }

    /// The server's URL on another host name and with query options: the same server, reached otherwise.
    public static func url(host: String, options: String) throws -> String {
        let url = try url()
        guard url.contains("@127.0.0.1:") else { throw NotConfigured() }
        return url.replacingOccurrences(of: "@127.0.0.1:", with: "@\(host):") + "?" + options
    }

    /// The CA that signed the server's certificate (for localhost only), and one that signed nothing.
    public static func certificateAuthority() throws -> String { try variable("VMDB_TEST_POSTGRES_CA") }
    public static func otherCertificateAuthority() throws -> String { try variable("VMDB_TEST_POSTGRES_OTHER_CA") }

    private static func variable(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw NotConfigured() }
        return value
    }
}
