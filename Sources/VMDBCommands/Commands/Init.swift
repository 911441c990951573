import ArgumentParser
import MigrationKit
import MigrationKitPostgres

extension VMDB {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new database at the latest schema version (or at --to V).",
            discussion: "Refuses a path that exists. The file is created mode 0600, in WAL mode. With a postgres:// URL, makes the schema in that database, which must exist and be empty (its owner creates it: createdb).")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("to"), help: "Create the database at this version instead of the latest (for tests and fixtures).")
        var version: Int?

        func run() async throws {
            struct Created: Encodable { let path: String; let version: Int }
            let created: Created
            switch try database.location() {
            case .file(let path):
                let migrator = VMDB.migrator
                try migrator.createDatabase(path: path, version: version)
                created = Created(path: path, version: version ?? migrator.catalog.latestVersion)
            case .postgres(let location):
                let migrator = VMDB.postgresMigrator
                let status = try await migrator.status(location)
                guard status.applied.isEmpty else {
                    throw ValidationError("\(location) already holds a vmdb schema (version \(status.currentVersion)): init makes one in an empty database only; `vmdb migrate` moves it forward")
                }
                let applied = try await migrator.migrate(location, to: version)
                created = Created(path: location.description, version: applied.last?.version ?? 0)
            }
            let path = created.path
            try output.emit(created) { "created \(path) at schema version \(created.version)\n" }
        }
    }
}
