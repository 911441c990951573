import MigrationKit

/// What an online run on PostgreSQL did and what it cost the deployer (`vmdb migrate --online`'s JSON).
public struct PostgresOnlineReport: Sendable, Encodable {
    public let migrations: [PostgresOnlineMigrationReport]
    /// The longest transaction in which vmdb held a lock that blocks the deployer's writes (lock wait included).
    public var longestLockMilliseconds: Double { migrations.map(\.longestLockMilliseconds).max() ?? 0 }
    /// Transactions rolled back because a lock was not had in time, then tried again.
    public var retries: Int { migrations.reduce(0) { $0 + $1.retries } }

    public init(migrations: [PostgresOnlineMigrationReport]) { self.migrations = migrations }

    private enum CodingKeys: String, CodingKey { case migrations, longestLockMilliseconds, retries }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(migrations, forKey: .migrations)
        try container.encode(longestLockMilliseconds, forKey: .longestLockMilliseconds)
        try container.encode(retries, forKey: .retries)
    }
}

/// One version: its history row, and per step what it took.
public struct PostgresOnlineMigrationReport: Sendable, Encodable {
    public let applied: AppliedMigration
    /// False: the version declares no online directives and ran offline, in one transaction.
    public let online: Bool
    /// The run picked up a version an interrupted run had started.
    public let resumed: Bool
    public let steps: [PostgresOnlineStepReport]
    public let milliseconds: Int
    public var longestLockMilliseconds: Double { steps.map(\.longestLockMilliseconds).max() ?? (online ? 0 : Double(milliseconds)) }
    /// The step of the longest lock.
    public var longestLockStep: String? { steps.max { $0.longestLockMilliseconds < $1.longestLockMilliseconds }?.description }
    public var retries: Int { steps.reduce(0) { $0 + $1.retries } }

    init(applied: AppliedMigration, online: Bool, resumed: Bool, steps: [PostgresOnlineStepReport], milliseconds: Int) {
        self.applied = applied
        self.online = online
        self.resumed = resumed
        self.steps = steps
        self.milliseconds = milliseconds
    }

    /// A version run offline: the whole transaction held its locks.
    init(offline applied: AppliedMigration, milliseconds: Int) {
        self.init(applied: applied, online: false, resumed: false, steps: [], milliseconds: milliseconds)
    }

    private enum CodingKeys: String, CodingKey {
        case applied, online, resumed, steps, milliseconds, longestLockMilliseconds, longestLockStep, retries
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(applied, forKey: .applied)
        try container.encode(online, forKey: .online)
        try container.encode(resumed, forKey: .resumed)
        try container.encode(steps, forKey: .steps)
        try container.encode(milliseconds, forKey: .milliseconds)
        try container.encode(longestLockMilliseconds, forKey: .longestLockMilliseconds)
        try container.encodeIfPresent(longestLockStep, forKey: .longestLockStep)
        try container.encode(retries, forKey: .retries)
    }
}

/// One step of an online run.
public struct PostgresOnlineStepReport: Sendable, Encodable, CustomStringConvertible {
    public let step: Int
    public let kind: String
    /// The object it builds or changes (an index, a constraint, a table).
    public let object: String
    /// Done by an earlier, interrupted run: skipped.
    public var alreadyDone = false
    public var milliseconds = 0.0
    /// The longest transaction of this step that held a lock blocking the deployer's writes.
    public var longestLockMilliseconds = 0.0
    /// The longest transaction of this step that held only row locks (a backfill batch) or none that block writes.
    public var longestTransactionMilliseconds = 0.0
    public var retries = 0
    /// A backfill's batches and the rows they changed.
    public var batches = 0
    public var rows = 0
    /// An INVALID index an interrupted run left, dropped before building it again.
    public var droppedInvalidIndex = false

    public var description: String { "step \(step) (\(kind) \(object))" }
}
