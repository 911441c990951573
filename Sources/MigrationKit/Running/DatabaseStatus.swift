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
    /// `sqlite` or `postgresql`: which engine holds the database.
    public var engine = "sqlite"
    /// An online migration in progress, interrupted, or emptying its old tables (nil: none).
    public var online: OnlineProgress?

    public var isCurrent: Bool { pending.isEmpty && unknownVersions.isEmpty }

    init(path: String, currentVersion: Int, latestVersion: Int, isManaged: Bool, applied: [AppliedMigration], pending: [Pending],
         unknownVersions: [Int], checksumMismatches: [Int], missingVersions: [Int], journalMode: String) {
        self.path = path
        self.currentVersion = currentVersion
        self.latestVersion = latestVersion
        self.isManaged = isManaged
        self.applied = applied
        self.pending = pending
        self.unknownVersions = unknownVersions
        self.checksumMismatches = checksumMismatches
        self.missingVersions = missingVersions
        self.journalMode = journalMode
    }

    /// A managed database's standing from its history against `catalog`: the same rules on every engine.
    public init(path: String, history applied: [AppliedMigration], catalog: MigrationCatalog, journalMode: String, engine: String) {
        let versions = Set(applied.map(\.version))
        let current = versions.max() ?? 0
        self.init(
            path: path, currentVersion: current, latestVersion: catalog.latestVersion, isManaged: true, applied: applied,
            pending: catalog.scripts.filter { $0.version > current }.map { .init(version: $0.version, name: $0.name) },
            unknownVersions: applied.map(\.version).filter { catalog.script(version: $0) == nil },
            checksumMismatches: applied.filter { entry in
                catalog.script(version: entry.version).map { $0.checksum != entry.checksum } ?? false
            }.map(\.version),
            missingVersions: current > 0 ? (1...current).filter { !versions.contains($0) } : [],
            journalMode: journalMode)
        self.engine = engine
    }

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
