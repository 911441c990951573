/// How an online migration paces itself (``MigrationOptions/online``).
public struct OnlineSettings: Sendable {
    /// The longest the cut-over transaction may hold the write lock; past it, it is
    /// rolled back and tried again (default 100 ms).
    public var maxLockMilliseconds = 100.0
    /// How long each copy chunk's transaction aims to take (chunks are sized by time).
    public var chunkMilliseconds = 20.0
    /// After each of its write transactions, the migrator waits this fraction of the
    /// transaction's time, so a deployer waiting on the lock gets it (1: half the time free).
    public var pause = 1.0
    /// While a file exists at this path, the cut-over waits (the new tables stay in sync).
    public var postponeCutOverFile: String?
    /// Cut-over attempts before giving up with ``MigrationError/Code/cutOverTimedOut``.
    public var cutOverTries = 40
    /// After the copy, while the change log holds more than a cut-over can apply under
    /// the lock limit: how long it may go without shrinking to a new low before the run
    /// stops with ``MigrationError/Code/onlineLagging`` (resumable).
    public var maxLagSeconds = 120.0
    /// When the old tables are emptied after the cut-over (the migration is applied at
    /// the cut-over either way).
    public var drain = Drain.now

    /// When an online run empties and drops the old tables, after its cut-over.
    public enum Drain: String, Sendable, CaseIterable {
        /// In the same run, before it returns (short transactions, paced as the copy).
        case now
        /// Not in this run: it returns at the cut-over, and the next migrate run, in
        /// any mode, empties them first (`status` shows them meanwhile). The migrations
        /// after it in the same run apply meanwhile, unless one of them also recreates
        /// tables online: one online run at a time, so the drain then happens first.
        case later
    }

    /// Test seams: a fixed copy chunk size (rows; nil: sized by time), the change-log
    /// entries one batch applies, and a call after each of the migrator's committed
    /// write transactions and verifications on a snapshot (its activity), where a test
    /// writes as the deployer would.
    package var chunkRows: Int?
    package var changeBatchLimit = 2_000
    /// Rows changed since the verification's snapshot beyond which the cut-over verifies
    /// again on a new snapshot rather than checking them under its lock.
    package var recheckLimit = 20_000
    package var afterTransaction: (@Sendable (String) -> Void)?

    public init() {}
}
