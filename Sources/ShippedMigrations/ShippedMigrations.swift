import MigrationKit

/// The deployer's migrations, from `migrations/*.sql`, carried inside the binary
/// so `vmdb` works from any directory without the source tree.
public enum ShippedMigrations {
    /// The catalog this build ships. The files are validated by the test suite;
    /// a malformed one is a build defect, not an operator error.
    public static let catalog: MigrationCatalog = {
        do {
            return try MigrationCatalog(files: files)
        } catch {
            preconditionFailure("shipped migrations are malformed: \(error)")
        }
    }()

    /// The same versions' PostgreSQL forms (`migrations/postgres/`): the same names, their own
    /// checksums; run by MigrationKitPostgres's `PostgresMigrator`.
    public static let postgresCatalog: MigrationCatalog = {
        do {
            return try MigrationCatalog(files: postgresFiles)
        } catch {
            preconditionFailure("shipped PostgreSQL migrations are malformed: \(error)")
        }
    }()

    /// vmdb's names: the history table `vmdb_migrations` (which the deployer's
    /// store reads too), bookkeeping objects `vmdb_*`, the lock `<db>.vmdb-lock`.
    public static let configuration = MigratorConfiguration(
        historyTable: "vmdb_migrations", bookkeepingPrefix: "vmdb_", lockFileSuffix: ".vmdb-lock", temporaryFolderPrefix: "vmdb-")

    /// A migrator of these migrations under vmdb's names.
    public static func migrator(toolVersion: String) -> Migrator {
        Migrator(catalog: catalog, toolVersion: toolVersion, configuration: configuration)
    }
}
