/// libpq's `sslmode`, as far as PostgresNIO can honour it (libpq's `allow`, plain text first and TLS
/// only if the server insists, it cannot).
public enum SSLMode: String, Sendable, CaseIterable {
    /// Plain text.
    case disable
    /// TLS if the server offers it, plain text if not; the certificate is not checked (libpq's default).
    case prefer
    /// TLS or no connection. The certificate is checked against the CA only if one is named (as libpq does
    /// when `sslrootcert` is set), otherwise not at all.
    case require
    /// TLS with a certificate signed by the CA (`sslrootcert`), whatever name it carries.
    case verifyCA = "verify-ca"
    /// TLS with a certificate signed by the CA and issued for the host connected to: the mode for a
    /// server on another machine.
    case verifyFull = "verify-full"

    static var expected: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
