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
}
