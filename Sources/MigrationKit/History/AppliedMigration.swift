/// One row of the history table `vmdb_migrations`.
public struct AppliedMigration: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Run by this tool.
        case applied
        /// Recognised by schema fingerprint on a database made before the tool existed.
        case baseline
    }

    public let version: Int
    public let name: String
    public let checksum: String
    public let appliedAt: String
    public let durationMilliseconds: Int
    public let lockMilliseconds: Int
    public let toolVersion: String
    public let kind: Kind
    public let verification: VerificationRecord?
    public let backupSHA256: String?
    /// What the migration declared with `keeps-store-compatible-from` when it was
    /// recorded: the oldest store version that keeps working on this database.
    public let keepsStoreCompatibleFrom: Int?
}

extension AppliedMigration {
    /// For another engine's history (PostgreSQL's migrator).
    package init(version: Int, name: String, checksum: String, appliedAt: String, durationMilliseconds: Int, lockMilliseconds: Int,
                 toolVersion: String, verification: VerificationRecord?, keepsStoreCompatibleFrom: Int?) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.appliedAt = appliedAt
        self.durationMilliseconds = durationMilliseconds
        self.lockMilliseconds = lockMilliseconds
        self.toolVersion = toolVersion
        self.kind = .applied
        self.verification = verification
        self.backupSHA256 = nil
        self.keepsStoreCompatibleFrom = keepsStoreCompatibleFrom
    }
}
