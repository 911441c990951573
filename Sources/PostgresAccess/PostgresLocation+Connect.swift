import Logging
import PostgresNIO

extension PostgresLocation {
    /// Opens one connection and closes it: the quick, typed answer to whether this location works. The
    /// pool alone would retry a refused login for a minute before failing the query that waits on it.
    public func checkLogin() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(), id: 0, logger: Self.quietLogger)
            try await connection.close()
        } catch let error as PostgresLocationError {
            throw error
        } catch {
            throw PostgresConnectionError(error, at: self)
        }
    }

    /// Checks the login, then runs `body` with a pool connected to this location, and shuts the pool
    /// down. The driver's errors come out as `PostgresConnectionError`, naming the location with its
    /// password masked.
    public func withClient<Result: Sendable>(
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await checkLogin()
        let client = PostgresClient(configuration: try clientConfiguration())
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            do {
                return try await body(client)
            } catch let error as PSQLError {
                throw PostgresConnectionError(error, at: self)
            }
        }
    }

    /// PostgresNIO logs to this; vmdb reports what matters through its errors.
    static let quietLogger = Logger(label: "vmdb.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
