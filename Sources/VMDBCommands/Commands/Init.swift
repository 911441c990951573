import ArgumentParser
import MigrationKit

extension VMDB {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new database at the latest schema version (or at --to V).",
            discussion: "Refuses a path that exists. The file is created mode 0600, in WAL mode.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: "Create the database at this version instead of the latest (for tests and fixtures).")
        var version: Int?

        func run() throws {
            struct Created: Encodable { let path: String; let version: Int }
            let path = try database.resolvedPath()
            let migrator = VMDB.migrator
            try migrator.createDatabase(path: path, version: version)
            let created = Created(path: path, version: version ?? migrator.catalog.latestVersion)
            try output.emit(created) { "created \(path) at schema version \(created.version)\n" }
        }
    }
}
