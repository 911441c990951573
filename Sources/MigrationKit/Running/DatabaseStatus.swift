/// Where a database stands against the migrations this tool ships.
public struct DatabaseStatus: Sendable, Codable {
    public struct Pending: Sendable, Codable, Hashable {
        public let version: Int
        public let name: String
    }

    public let path: String
    /// The schema version: the highest applied migration, or the fingerprinted version of an unmanaged database.
    public let currentVersion: Int
    public let latestVersion: Int
    /// False for a database made before this tool (no history table yet).
    public let isManaged: Bool
    public let applied: [AppliedMigration]
    public let pending: [Pending]
    /// Versions the history records that this tool does not ship (the database is newer).
    public let unknownVersions: [Int]
    /// Applied versions whose recorded checksum differs from the shipped file.
    public let checksumMismatches: [Int]
    /// Versions missing below the highest applied one.
    public let missingVersions: [Int]
    public let journalMode: String
    /// An online migration in progress, interrupted, or emptying its old tables (nil: none).
    public var online: OnlineProgress?

    public var isCurrent: Bool { pending.isEmpty && unknownVersions.isEmpty }

    /// Throws the refusal a migrating command owes this database, if any.
    ///
    /// - Throws: ``MigrationError`` (`inconsistentHistory`) naming the unknown, edited or missing versions.
    public func requireConsistentHistory() throws {
        if !unknownVersions.isEmpty {
            throw MigrationError(.newerDatabase, "\(path) records migration(s) \(unknownVersions.map(String.init).joined(separator: ", ")) that this catalog does not have (it has 1…\(latestVersion)): the database is newer than this tool; nothing was changed", path: path)
        }
        if !checksumMismatches.isEmpty {
            throw MigrationError(.inconsistentHistory, "applied migration(s) \(checksumMismatches.map(String.init).joined(separator: ", ")) of \(path) differ from this catalog's files (checksum mismatch): either the history was edited or a shipped migration was changed. Nothing was changed", path: path)
        }
        if !missingVersions.isEmpty {
            throw MigrationError(.inconsistentHistory, "the history of \(path) lacks version(s) \(missingVersions.map(String.init).joined(separator: ", ")) below its latest: it was edited by hand or partly restored. Nothing was changed", path: path)
        }
    }
}
