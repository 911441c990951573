import ArgumentParser
import Foundation

/// `--db PATH`, falling back to `VMDB_DB`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("The deployer's SQLite database (default: $VMDB_DB).", valueName: "path"), completion: .file())
    var path: String?

    func validate() throws {
        _ = try resolvedPath()
    }

    func resolvedPath() throws -> String {
        if let path, !path.isEmpty { return path }
        if let path = ProcessInfo.processInfo.environment["VMDB_DB"], !path.isEmpty { return path }
        throw ValidationError("give the database with --db PATH (or set VMDB_DB)")
    }
}
