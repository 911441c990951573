import MigrationKit

/// What a dry run on PostgreSQL found, shaped as SQLite's ``DryRunReport``: the versions it
/// would apply, the copy it applied them to, what they recorded there, and the verdict.
public struct PostgresDryRunReport: Sendable, Codable {
    /// A version the run would apply.
    public struct Pending: Sendable, Hashable, Codable {
        public let version: Int
        public let name: String
    }

    /// The live database, its password masked.
    public let database: String
    public let fromVersion: Int
    public let toVersion: Int
    /// The scratch database the copy was migrated in (dropped before the report was made).
    public let scratchDatabase: String
    public let pending: [Pending]
    /// The tables as the snapshot copied them (rows, content hash).
    public let copiedTables: [PostgresBackupRecord.Table]
    public let copySeconds: Double
    /// The size of the snapshot's dump the copy was filled from.
    public let copyBytes: Int64
    /// What each migration recorded on the copy (its verification included), as a real run records it.
    public let applied: [AppliedMigration]
    /// The migration that failed on the copy, as SQLite's dry run reports it.
    public let failure: DryRunReport.Failure?

    public var wouldSucceed: Bool { failure == nil }
}
