import SQLiteFiles
/// How `Migrator.migrate` runs.
public struct MigrationOptions: Sendable {
    /// Stop at this version (default: the latest shipped).
    public var targetVersion: Int?
    /// Values the migrations bind, such as `default_network`.
    public var parameters: MigrationParameters = [:]
    public var verification: VerificationLevel = .full
    /// Take an online backup before changing anything (default on).
    public var takesBackup = true
    /// Where backups go; default: the database's folder.
    public var backupDirectory: String?
    /// How long to wait for the deployer's write lock, in seconds.
    public var busyTimeout: Double = 5
    public var progress: ProgressHandler?
    /// Receives each SQL statement as it runs (for the plan and the dry-run report).
    public var statementLog: (@Sendable (String) -> Void)?
    /// Receives what the run could not check before it started, one sentence each (an
    /// object the rehearsal could not create on its copy); the run goes on.
    public var warning: (@Sendable (String) -> Void)?
    /// Run each migration that recreates tables online (short write transactions while
    /// the deployer keeps writing; needs WAL), paced by these settings. Nil: one transaction each.
    public var online: OnlineSettings?
    /// The dry run's plan already ran the preflight on this very copy, which nothing else
    /// writes: running it again only costs a second scan of the tables.
    var preflightDone = false

    public init() {}
}

/// One migration as it ran.
public struct MigrationResult: Sendable, Codable {
    public let version: Int
    public let name: String
    public let seconds: Double
    /// How long the write lock was held: the deployer was blocked that long.
    public let lockSeconds: Double
    public let verification: VerificationRecord
    /// Online: the old tables left to empty after the cut-over (nil: none left).
    public var pendingDrain: PendingDrain? = nil
}

/// What `migrate` did.
public struct MigrationRunReport: Sendable, Codable {
    public let path: String
    public let fromVersion: Int
    public let toVersion: Int
    /// Versions stamped from the schema fingerprint of an unmanaged database.
    public let baselinedVersion: Int?
    public let backup: BackupRecord?
    public let migrations: [MigrationResult]
    public let seconds: Double
    /// An earlier online run this one finished first (a drain left after its cut-over, or an undo).
    public var finishedEarlierRun: FinishedOnlineRun? = nil

    public var lockSeconds: Double { migrations.map(\.lockSeconds).reduce(0, +) }
}

/// The SQL `migrate` would run, per migration, bookkeeping included.
public struct MigrationPlan: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public let version: Int
        public let name: String
        public let checksum: String
        public let statements: [String]

        public init(version: Int, name: String, checksum: String, statements: [String]) {
            (self.version, self.name, self.checksum, self.statements) = (version, name, checksum, statements)
        }
    }

    public let path: String
    public let fromVersion: Int
    public let toVersion: Int
    public let baselinedVersion: Int?
    /// Parameters the migrations bind (`:name`), and whether this database needs them.
    public let parameters: [String]
    public let migrations: [Entry]
    /// Objects the rehearsal could not create on its schema copy and so did not rehearse
    /// (a table using a collation or a virtual-table module of the deployer's app), each
    /// with why; nil when every object was rehearsed.
    public var notRehearsed: [String]?

    public init(path: String, fromVersion: Int, toVersion: Int, baselinedVersion: Int?, parameters: [String], migrations: [Entry],
                notRehearsed: [String]? = nil) {
        self.path = path
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.baselinedVersion = baselinedVersion
        self.parameters = parameters
        self.migrations = migrations
        self.notRehearsed = notRehearsed
    }
}
