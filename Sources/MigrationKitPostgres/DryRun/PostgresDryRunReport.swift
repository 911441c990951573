import MigrationKit

/// What a dry run on PostgreSQL found, shaped as SQLite's ``DryRunReport``: the versions it
/// would apply, the copy it applied them to, what they recorded there, and the verdict.
public struct PostgresDryRunReport: Sendable, Codable {
    /// A migration that failed on the copy (as SQLite's dry run reports it).
    public struct Failure: Sendable, Codable {
        public let kind: MigrationError.Kind
        public let message: String
        public let verification: VerificationRecord?
        /// The error itself, with its code and context (not part of the JSON report).
        public let error: MigrationError?

        init(_ error: MigrationError) {
            kind = error.kind
            message = error.message
            verification = error.verification
            self.error = error
        }

        private enum CodingKeys: String, CodingKey { case kind, message, verification }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            kind = try container.decode(MigrationError.Kind.self, forKey: .kind)
            message = try container.decode(String.self, forKey: .message)
            verification = try container.decodeIfPresent(VerificationRecord.self, forKey: .verification)
            error = nil
        }
    }

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
    public let failure: Failure?

    public var wouldSucceed: Bool { failure == nil }
}
