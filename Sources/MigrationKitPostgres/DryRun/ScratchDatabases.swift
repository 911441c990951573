import Foundation
import MigrationKit
import PostgresAccess
import PostgresNIO

/// The dry run's scratch databases on the live database's server: named by a prefix and a
/// random part, created empty from template0, always dropped after; one left by a killed dry
/// run is found by its prefix and dropped by the next one. A scratch database in use (another
/// dry run holds a connection to it for its whole life) cannot be dropped, and is left alone.
struct ScratchDatabases {
    let prefix: String
    let session: PostgresSession

    init(configuration: MigratorConfiguration, session: PostgresSession) {
        prefix = configuration.bookkeepingPrefix + "dry_run_"
        self.session = session
    }

    /// Drops the scratch databases no session uses; the names of those dropped.
    func dropLeftovers() async throws -> [String] {
        var bindings = PostgresBindings()
        bindings.append(prefix)
        let names = try await session.values(PostgresQuery(unsafeSQL: "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname",
                                                           binds: bindings), as: String.self)
        var dropped: [String] = []
        for name in names {
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

    /// A new empty database; creating one takes the CREATEDB privilege.
    func create() async throws -> String {
        let name = prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
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
