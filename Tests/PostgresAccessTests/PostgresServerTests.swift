import Foundation
import PostgresNIO
import Testing

@testable import PostgresAccess

/// Against the real server (scripts/postgres-test-server): a URL becomes a working PostgresNIO pool,
/// and the server's refusals become typed errors that do not show the password.
@Suite struct PostgresServerTests {
    @Test func connectsAndRunsABoundQuery() async throws {
        let location = try PostgresLocation(url: try TestServer.url())
        let (sum, user) = try await location.withClient { client in
            let rows = try await client.query("SELECT \(41)::integer + 1, current_user::text")
            var result: (Int, String)?
            for try await row in rows.decode((Int, String).self) { result = row }
            return try #require(result)
        }
        #expect(sum == 42)
        #expect(user == location.user)
    }

    @Test func theApplicationNameReachesTheServer() async throws {
        let location = try PostgresLocation(url: try TestServer.url() + "?application_name=vmdb-location-test&sslmode=disable")
        let name = try await location.withClient { client in
            let rows = try await client.query("SELECT current_setting(\("application_name"))")
            var name: String?
            for try await row in rows.decode(String.self) { name = row }
            return name
        }
        #expect(name == "vmdb-location-test")
    }

    @Test func aWrongPasswordIsATypedErrorThatDoesNotShowIt() async throws {
        let right = try PostgresLocation(url: try TestServer.url())
        let wrongPassword = "Wr0ng-Pa55-\(UInt32.random(in: 0...UInt32.max))"
        guard case .tcp(let host, let port) = right.endpoint else { Issue.record("the test server is not on TCP"); return }
        let wrong = try PostgresLocation(url: "postgres://\(right.user):\(wrongPassword)@\(host):\(port)/\(right.database)?connect_timeout=5")
        let error = try await #require(throws: PostgresConnectionError.self) {
            try await wrong.withClient { client in _ = try await client.query("SELECT 1") }
        }
        guard case .authenticationFailed(let location, let sqlState, _) = error else { Issue.record("\(error)"); return }
        #expect(sqlState == "28P01")   // invalid_password
        #expect(location == "postgres://\(right.user):***@\(host):\(port)/\(right.database)")
        #expect(!"\(error)".contains(wrongPassword) && !String(reflecting: error).contains(wrongPassword))
    }

    @Test func nothingListeningIsATypedErrorNamingTheLocation() async throws {
        // A port nothing listens on: bound and closed by this test, so no server is there.
        let location = try PostgresLocation(url: "postgres://u:Secret-9@127.0.0.1:\(try Self.closedPort())/d?sslmode=disable&connect_timeout=5")
        let error = try await #require(throws: PostgresConnectionError.self) {
            try await location.withClient { client in _ = try await client.query("SELECT 1") }
        }
        guard case .unreachable(let named, _) = error else { Issue.record("\(error)"); return }
        #expect(named.hasPrefix("postgres://u:***@127.0.0.1:"))
        #expect(!"\(error)".contains("Secret-9"))
    }

    /// A loopback port that was free a moment ago.
    static func closedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
