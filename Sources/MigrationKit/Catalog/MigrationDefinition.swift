/// What a migration file declares: its SQL steps, the tables it recreates, and
/// what must hold before it may commit. Parsed from `--!` directives.
public struct MigrationDefinition: Sendable, Hashable {
    /// A named value the operator supplies (bound as `:name`), needed when
    /// `neededWhen` (a `SELECT count(*)`) counts more than zero rows.
    public struct Parameter: Sendable, Hashable {
        public let name: String
        /// What the count counts, for the refusal message ("VM(s) need a network").
        public let description: String
        public let neededWhen: String
    }

    /// After the migration, `table.column` must equal `expression` evaluated on
    /// the row before it; checked through the content hash.
    public struct Expectation: Sendable, Hashable {
        public let table: String
        public let column: String
        public let expression: String
    }

    /// A `SELECT count(*)` that must count zero before commit.
    public struct Invariant: Sendable, Hashable {
        public let description: String
        public let sql: String
    }

    /// A table rebuilt by SQLite's 12-step procedure into `createSQL`.
    public struct Recreation: Sendable, Hashable {
        public let table: String
        public let createSQL: String
        /// A SELECT producing the new table's declared columns in order, generated ones left
        /// out (SQLite computes them); nil copies same-named columns.
        public var copySQL: String?
        /// How `copySQL` names the old table, so columns an operator added can be carried along.
        public var copyAlias: String?
    }

    /// Statements that show the new schema behaves as the migration promises,
    /// run in a savepoint before commit and always rolled back.
    public struct Probe: Sendable, Hashable {
        public enum Expectation: String, Sendable, Hashable, Codable {
            /// Every statement succeeds.
            case accepts
            /// Every statement but the last succeeds; the last fails with a constraint error.
            case rejects
        }
        public let expectation: Expectation
        public let description: String
        public let sql: String
    }

    /// A schema object or column the migration removes on purpose.
    public struct Drop: Sendable, Hashable {
        public let type: String
        public let name: String
    }

    /// How PostgreSQL's online executor runs a step block, so that no statement holds a
    /// lock the deployer's writes wait on for longer than a catalog update. Offline, the
    /// block runs as written, in the version's one transaction.
    public enum OnlineDirective: Sendable, Hashable {
        /// One `CREATE [UNIQUE] INDEX`, built `CONCURRENTLY` outside any transaction.
        case concurrently
        /// One `ALTER TABLE … ADD CONSTRAINT`, added `NOT VALID` and then validated in a
        /// transaction of its own (one directive for both halves: none is left unvalidated).
        case notValid
        /// One `UPDATE`, run for `batch` keys of `table.key` at a time, each its own transaction.
        case backfill(table: String, key: String, batch: Int)
    }

    public var parameters: [Parameter] = []
    public var expectations: [Expectation] = []
    public var invariants: [Invariant] = []
    public var probes: [Probe] = []
    public var drops: [Drop] = []
    /// The oldest schema version a store (the application's data layer) may be
    /// built for and keep working after this migration: the migration only adds
    /// (a nullable column, a table, an index) and the store reads and writes what
    /// it knew. Nil: only a store built for this version or later. Recorded in the
    /// history row, where an older store, which cannot know this migration, reads it.
    public var keepsStoreCompatibleFrom: Int?
    /// SQL blocks run before the recreations (all steps when nothing is recreated).
    public var stepsBefore: [String] = []
    /// The online directive of `stepsBefore[i]`, by `i` (a plain `step` has none).
    public var onlineDirectives: [Int: OnlineDirective] = [:]
    public var recreations: [Recreation] = []
    /// SQL blocks run after the recreated tables are renamed into place.
    public var stepsAfter: [String] = []

    /// One step of the migration, in file order. Every executor (offline
    /// `MigrationRunner`, online `OnlinePlan`) switches over it exhaustively, so a new kind
    /// of step does not compile until each has said what it does with it (as GRDB's
    /// `TableAlterationKind` does for its table alterations).
    public enum Step: Sendable, Hashable {
        /// SQL run as written: before the recreations, or once the recreated tables are in place.
        case sql(String, afterRecreations: Bool)
        /// A table rebuilt by SQLite's 12-step procedure.
        case recreate(Recreation)
    }

    /// The steps in the order they run.
    public var steps: [Step] {
        stepsBefore.map { .sql($0, afterRecreations: false) } + recreations.map(Step.recreate)
            + stepsAfter.map { .sql($0, afterRecreations: true) }
    }

    package func isDropped(_ type: String, _ name: String) -> Bool {
        drops.contains { $0.type == type && $0.name.lowercased() == name.lowercased() }
    }
}
