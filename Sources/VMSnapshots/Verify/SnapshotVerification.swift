/// How one snapshot fared in `vmdb snapshots verify`.
public struct SnapshotVerification: Sendable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// Migrated, verified, and equal to its expected result.
        case passed
        /// Migrated differently from its expected result, or the migration refused it.
        case failed
        /// The snapshot itself could not be read (missing dump, malformed expected.json).
        case unusable
        /// Its rows cannot exist on the engine it was tried on (a NUL in a text, which PostgreSQL's
        /// `text` cannot hold): a property of the snapshot's data, named in ``differences``, not a
        /// migration's failure. Only the PostgreSQL verification gives it.
        case notPortable
    }

    /// The snapshot's folder name.
    public let name: String
    public let path: String
    public let outcome: Outcome
    public let description: String?
    public let sourceVersion: Int?
    public let isManaged: Bool?
    public let finalVersion: Int?
    /// Rows in all tables after migration.
    public let rows: Int?
    /// What the schema has beyond a fresh install (kept, not drift).
    public let operatorAdditions: [String]
    /// Each difference from the expected result, or the reason it failed.
    public let differences: [String]

    public var passed: Bool { outcome == .passed }
}

/// Every snapshot of a folder, verified.
public struct SnapshotSuiteReport: Sendable, Codable {
    public let directory: String
    public let snapshots: [SnapshotVerification]

    public var passedCount: Int { snapshots.filter(\.passed).count }
    /// Snapshots that failed or could not be read (one not portable to the engine is neither).
    public var failedCount: Int { snapshots.filter { [.failed, .unusable].contains($0.outcome) }.count }
    public var allPassed: Bool { failedCount == 0 }

    enum CodingKeys: String, CodingKey { case directory, snapshots, passed, failed, allPassed }

    public init(directory: String, snapshots: [SnapshotVerification]) {
        self.directory = directory
        self.snapshots = snapshots
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        directory = try container.decode(String.self, forKey: .directory)
        snapshots = try container.decode([SnapshotVerification].self, forKey: .snapshots)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(directory, forKey: .directory)
        try container.encode(snapshots, forKey: .snapshots)
        try container.encode(passedCount, forKey: .passed)
        try container.encode(failedCount, forKey: .failed)
        try container.encode(allPassed, forKey: .allPassed)
    }
}
