import Foundation

/// A backup of a PostgreSQL database (pg_dump's custom format, one consistent snapshot), and
/// what was in it, read in that same snapshot: the schema version and every table's rows and
/// content hash. Kept as JSON beside the backup (`recordPath`), where restore checks it.
public struct PostgresBackupRecord: Sendable, Hashable, Codable {
    /// A table as the snapshot held it.
    public struct Table: Sendable, Hashable, Codable {
        public let name: String
        public let rows: Int
        /// `ContentHash` of every column (as `vmdb verify` and the migrations' census compute it);
        /// nil for a table with a type the hash does not cover.
        public let contentHash: String?
    }

    /// The database it was taken from, its password masked.
    public let database: String
    public let path: String
    public let bytes: Int64
    public let sha256: String
    /// The newest version the history recorded (0: no history).
    public let schemaVersion: Int
    public let tables: [Table]
    public let takenAt: String
    public let seconds: Double

    /// Where the record of the backup at `path` is kept.
    public static func recordPath(for path: String) -> String { path + ".record.json" }
}

/// What a restore of a PostgreSQL backup did.
public struct PostgresRestoreReport: Sendable, Codable {
    /// The database restored into, its password masked.
    public let database: String
    public let restoredFrom: String
    public let restoredVersion: Int
    /// The database as it was just before the restore replaced it.
    public let safetyBackup: PostgresBackupRecord?
    /// The restored tables' rows and content hashes equal the backup's record (nil: no record beside the backup).
    public let matchesRecord: Bool?
    public let seconds: Double
}
