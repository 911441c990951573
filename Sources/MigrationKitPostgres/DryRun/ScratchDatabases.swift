import Foundation
import MigrationKit
import PostgresAccess
import PostgresNIO

/// The dry run's scratch databases on the live database's server: named by a prefix, the
/// server's clock when made and a random part, created empty from template0, always dropped after.
/// One left by a killed dry run is found by its prefix and dropped by the next dry run, unless it is
/// in use (a dry run holds a connection to its scratch database for its whole life) or younger than
/// `graceSeconds` (between its CREATE and that connection, nobody is connected to it yet).
struct ScratchDatabases {
    let prefix: String
    let session: PostgresSession
    /// How old a scratch database must be before another dry run may take it for a leftover.
    static let graceSeconds: Int64 = 60

    init(configuration: MigratorConfiguration, session: PostgresSession) {
        prefix = configuration.bookkeepingPrefix + "dry_run_"
        self.session = session
    }

    /// Drops the scratch databases no session uses and older than the grace; the names of those dropped.
    func dropLeftovers() async throws -> [String] {
        var bindings = PostgresBindings()
        bindings.append(prefix)
        let names = try await session.values(PostgresQuery(unsafeSQL: "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname",
                                                           binds: bindings), as: String.self)
        let now = try await serverSeconds()
        var dropped: [String] = []
        for name in names {
            // A name this code did not make (no time in it) is a leftover too.
            if let made = Int64(name.dropFirst(prefix.count).prefix { $0 != "_" }), now - made < Self.graceSeconds { continue }
            do {
                // No FORCE: a dry run under way keeps a connection to its database, and keeps it.
                _ = try await session.connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(PostgresIdentifier.quoted(name))"), logger: session.logger).collect()
                dropped.append(name)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55006" {
                continue   // object_in_use: another dry run's
            } catch {
                throw session.translate(error)
            }
        }
        return dropped
    }

    /// The server's clock, in seconds since 1970: every dry run on this server reads the same one.
    private func serverSeconds() async throws -> Int64 {
        try await session.values(PostgresQuery(unsafeSQL: "SELECT extract(epoch FROM clock_timestamp())::bigint"), as: Int64.self).first ?? 0
    }

    /// A new empty database; creating one takes the CREATEDB privilege.
    func create() async throws -> String {
        let name = prefix + "\(try await serverSeconds())_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do {
            _ = try await session.connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(PostgresIdentifier.quoted(name)) TEMPLATE template0"), logger: session.logger).collect()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
            throw MigrationError(.cannotCreate, "the dry run copies \(session.location) into a scratch database it creates, and \(session.location.user) may not create databases (SQLSTATE 42501): grant it with ALTER ROLE \(PostgresIdentifier.quoted(session.location.user)) CREATEDB, or dry-run as a role that has it. Nothing was changed")
        } catch {
            throw session.translate(error)
        }
        return name
    }

    /// Drops `name`, whoever is still connected to it.
    func drop(_ name: String) async throws {
        do {
            _ = try await session.connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(PostgresIdentifier.quoted(name)) WITH (FORCE)"), logger: session.logger).collect()
        } catch {
            throw session.translate(error)
        }
    }
}
