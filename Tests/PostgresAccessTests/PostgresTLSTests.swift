import Foundation
import PostgresNIO
import Testing

@testable import PostgresAccess

/// sslmode against the real server, whose certificate scripts/postgres-test-server made with a CA of its
/// own for the name localhost only: verify-full checks the CA and the name, verify-ca the CA alone.
@Suite struct PostgresTLSTests {
    /// Whether the session runs over TLS, as the server sees it.
    func encrypted(_ url: String) async throws -> Bool {
        try await PostgresLocation(url: url).withClient { client in
            var answer: Bool?
            let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            for try await row in rows.decode(Bool.self) { answer = row }
            guard let answer else {
                Issue.record("pg_stat_ssl has no row for this session")
                return false
            }
            return answer
        }
    }

    @Test func verifyFullConnectsToTheNameTheCertificateCarries() async throws {
        let ca = try TestServer.certificateAuthority()
        #expect(try await encrypted(TestServer.url(host: "localhost", options: "sslmode=verify-full&sslrootcert=\(ca)")))
    }

    @Test func verifyFullRefusesANameTheCertificateDoesNotCarryWhereVerifyCAConnects() async throws {
        let ca = try TestServer.certificateAuthority()
        let refused = try PostgresLocation(url: TestServer.url(host: "127.0.0.1", options: "sslmode=verify-full&sslrootcert=\(ca)"))
        let error = try await #require(throws: PostgresConnectionError.self) { try await refused.checkLogin() }
        guard case .unreachable = error else { Issue.record("\(error)"); return }
        #expect(try await encrypted(TestServer.url(host: "127.0.0.1", options: "sslmode=verify-ca&sslrootcert=\(ca)")))
    }

    @Test func anotherCAIsRefused() async throws {
        let other = try TestServer.otherCertificateAuthority()
        let refused = try PostgresLocation(url: TestServer.url(host: "localhost", options: "sslmode=verify-ca&sslrootcert=\(other)"))
        let error = try await #require(throws: PostgresConnectionError.self) { try await refused.checkLogin() }
        guard case .unreachable(let location, _) = error else { Issue.record("\(error)"); return }
        #expect(location.contains(":***@localhost:") && location.contains("sslmode=verify-ca"))
        // require with a CA named verifies it too, as libpq.
        let required = try PostgresLocation(url: TestServer.url(host: "localhost", options: "sslmode=require&sslrootcert=\(other)"))
        await #expect(throws: PostgresConnectionError.self) { try await required.checkLogin() }
    }

    @Test func preferAndRequireWithoutACAEncryptDisableDoesNot() async throws {
        #expect(try await encrypted(TestServer.url(host: "127.0.0.1", options: "sslmode=require")))
        #expect(try await encrypted(TestServer.url(host: "127.0.0.1", options: "sslmode=prefer")))
        #expect(try await !encrypted(TestServer.url(host: "127.0.0.1", options: "sslmode=disable")))
    }
}
