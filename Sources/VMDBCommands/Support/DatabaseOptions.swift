import ArgumentParser
import Foundation
import PostgresAccess
import VMStore
import VMStorePostgres

/// `--db PATH|URL`, falling back to `VMDB_DB`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("The deployer's SQLite database, or a postgres:// URL where the command supports PostgreSQL (default: $VMDB_DB).", valueName: "path|url"), completion: .file())
    var path: String?

    func validate() throws {
        _ = try given()
    }

    /// The SQLite file, for the commands that work on SQLite only; a PostgreSQL URL is refused by name.
    func resolvedPath() throws -> String {
        let text = try given()
        guard !PostgresLocation.isURL(text) else {
            throw ValidationError("--db names a PostgreSQL database, and this command works on SQLite files only. On PostgreSQL, vmdb runs init, status, plan, migrate, verify, backup, restore and vm")
        }
        return text
    }

    /// The file or the PostgreSQL database; a URL's problems (and a password file ignored, as
    /// libpq ignores it) are said here, the password masked.
    func location() throws -> DatabaseLocation {
        let text = try given()
        guard PostgresLocation.isURL(text) else { return .file(path: text) }
        let location = try PostgresLocation(url: text)
        for warning in location.warnings { Console.current.err("vmdb: warning: \(warning)\n") }
        return .postgres(location)
    }

    /// The store on the file or on the PostgreSQL database.
    func openStore() throws -> VMStore {
        switch try location() {
        case .file(let path): try VMStore(path: path)
        case .postgres(let location): try VMStore(postgres: location)   // its warnings said once, by location()
        }
    }

    private func given() throws -> String {
        if let path, !path.isEmpty { return path }
        if let path = ProcessInfo.processInfo.environment["VMDB_DB"], !path.isEmpty { return path }
        throw ValidationError("give the database with --db PATH or --db postgres://… (or set VMDB_DB)")
    }
}
