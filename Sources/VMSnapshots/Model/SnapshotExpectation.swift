/// A snapshot's `expected.json`: how to load its dump, and what migrating it
/// to the latest version must produce.
///
/// Written with sorted keys and no timestamps, so regenerating an unchanged
/// snapshot rewrites the same bytes and a diff shows only real changes.
public struct SnapshotExpectation: Sendable, Codable, Equatable {
    /// Bumped when the layout of this file, or how its content hashes are computed,
    /// changes incompatibly. 2: the table hash is the census's (`ContentHasher`).
    public static let currentFormat = 2

    public var format: Int
    public var metadata: SnapshotMetadata
    public var result: SnapshotResult

    public init(metadata: SnapshotMetadata, result: SnapshotResult) {
        self.format = Self.currentFormat
        self.metadata = metadata
        self.result = result
    }
}

/// How a snapshot is loaded and migrated.
public struct SnapshotMetadata: Sendable, Codable, Equatable {
    /// What shape of database this is, and why it is here.
    public var description: String
    /// The dump's file name, beside `expected.json` (default `dump.sql`).
    public var dump: String
    /// The schema version the dump is at.
    public var sourceVersion: Int
    /// Whether the dump carries vmdb's history table; an unmanaged one is baselined on migrate.
    public var isManaged: Bool
    /// `wal` or `delete`: the journal mode the database is loaded in before migrating.
    public var journalMode: String
    /// The `--default-network` the migration needs (rows without a network), if any.
    public var defaultNetwork: String?

    public init(description: String, dump: String = "dump.sql", sourceVersion: Int, isManaged: Bool,
                journalMode: String, defaultNetwork: String?) {
        self.description = description
        self.dump = dump
        self.sourceVersion = sourceVersion
        self.isManaged = isManaged
        self.journalMode = journalMode
        self.defaultNetwork = defaultNetwork
    }

    enum CodingKeys: String, CodingKey {
        case description, dump, sourceVersion, isManaged = "managed", journalMode, defaultNetwork
    }
}
