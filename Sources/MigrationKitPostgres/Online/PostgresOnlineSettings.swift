/// How an online run on PostgreSQL treats the deployer's locks (strong_migrations' rule):
/// every statement that takes a lock the deployer's writes would queue behind waits for it
/// at most `lockTimeoutMilliseconds`, well under the deployer's own lock and statement
/// timeouts, and is tried again after a backoff that doubles, with jitter, so vmdb never
/// holds the queue behind a long transaction of the deployer's.
public struct PostgresOnlineSettings: Sendable {
    /// `SET LOCAL lock_timeout` of each step's transaction.
    public var lockTimeoutMilliseconds = 200
    /// The same limit for a step that takes only SHARE UPDATE EXCLUSIVE (`VALIDATE CONSTRAINT`): no
    /// deployer read or write conflicts with it, so none queues behind it, and its wait may be long.
    /// It must outlast `deadlock_timeout` (1 s): an autovacuum holding that lock is cancelled for a
    /// waiting request only then, and a shorter try would give up first, every time.
    public var weakLockTimeoutMilliseconds = 10_000
    /// Tries of one transaction before the run gives up (busy, 75; the steps done stay recorded).
    public var attempts = 40
    /// The first backoff after a lock not had in time; it doubles up to `longestBackoffMilliseconds`.
    public var firstBackoffMilliseconds = 20
    public var longestBackoffMilliseconds = 2_000
    /// Called once each step, and each backfill batch, is committed and recorded. What it throws
    /// ends the run there, as a crash would (the tests interrupt runs with it).
    public var checkpoint: (@Sendable (PostgresOnlineCheckpoint) async throws -> Void)?

    public init() {}
}

/// Where an online run is: the version, its step (1-based, in file order) and what is done of it.
public struct PostgresOnlineCheckpoint: Sendable, Hashable, CustomStringConvertible {
    public let version: Int
    public let step: Int
    /// `plain`, `concurrently`, `not-valid` or `backfill`.
    public let kind: String
    /// `done`; `added` (a constraint added NOT VALID, not validated yet); `batch` (a backfill batch).
    public let phase: String

    public var description: String { "migration \(version) step \(step) (\(kind)) \(phase)" }
}
