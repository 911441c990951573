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

    public var isCurrent: Bool { pending.isEmpty && unknownVersions.isEmpty }

    /// Throws the refusal a migrating command owes this database, if any.
    public func requireConsistentHistory() throws {
        if !unknownVersions.isEmpty {
            throw MigrationError(.databaseNewer, "\(path) records migration(s) \(unknownVersions.map(String.init).joined(separator: ", ")) that this vmdb does not ship (it knows 1…\(latestVersion)): the database is newer than this tool. Use the vmdb that migrated it; nothing was changed")
        }
        if !checksumMismatches.isEmpty {
            throw MigrationError(.historyInconsistent, "applied migration(s) \(checksumMismatches.map(String.init).joined(separator: ", ")) of \(path) differ from the files this vmdb ships (checksum mismatch): either the history was edited or a shipped migration was changed. Nothing was changed; compare `vmdb status` with the migrations/ folder of the release that migrated it")
        }
        if !missingVersions.isEmpty {
            throw MigrationError(.historyInconsistent, "the history of \(path) lacks version(s) \(missingVersions.map(String.init).joined(separator: ", ")) below its latest: it was edited by hand or partly restored. Nothing was changed; restore a backup or repair the history table")
        }
    }
}
