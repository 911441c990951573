import VMDBTestSupport

/// The server these tests use (shared with the other PostgreSQL test targets).
typealias TestServer = PostgresTestServer
