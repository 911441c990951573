/// How much a migration checks before it commits.
public enum VerificationLevel: String, Sendable, Codable, CaseIterable {
    /// Row counts, order-independent content hashes of every column, foreign
    /// keys, schema objects, invariants, and `quick_check` of the rewritten
    /// tables (their indexes are built fresh from the rows the hashes verify).
    case full
    /// `full`, with `integrity_check` instead of `quick_check`: also re-reads
    /// every index against its table (about 8 s more per million VMs).
    case exhaustive
    /// Everything but the content hashes and the b-tree checks (for very large
    /// databases whose operator accepts counts as proof).
    case counts
}

/// One table's census before and after a migration.
public struct TableVerification: Sendable, Hashable, Codable {
    public let table: String
    /// The columns the content hash covers, in hash order.
    public let columns: [String]
    public var rowsBefore: Int
    public var rowsAfter: Int?
    public var hashBefore: String?
    public var hashAfter: String?

    public var isPreserved: Bool {
        rowsBefore == rowsAfter && hashBefore == hashAfter
    }
}

extension TableVerification {
    /// For an engine's executor that records a census without comparing it (PostgreSQL's
    /// online run, where the deployer writes between the two).
    package static func uncompared(table: String, columns: [String], rowsBefore: Int, rowsAfter: Int?,
                                   hashBefore: String?, hashAfter: String?) -> TableVerification {
        TableVerification(table: table, columns: columns, rowsBefore: rowsBefore, rowsAfter: rowsAfter, hashBefore: hashBefore, hashAfter: hashAfter)
    }
}

/// A declared invariant and how many rows broke it.
public struct InvariantResult: Sendable, Hashable, Codable {
    public let description: String
    public let violations: Int

    package init(description: String, violations: Int) {
        self.description = description
        self.violations = violations
    }
}

/// A declared probe and what SQLite answered.
public struct ProbeResult: Sendable, Hashable, Codable {
    public let description: String
    public let expectation: MigrationDefinition.Probe.Expectation
    public let passed: Bool
    /// "ran" when every statement succeeded, else the error of the statement that failed.
    public let outcome: String

    package init(description: String, expectation: MigrationDefinition.Probe.Expectation, passed: Bool, outcome: String) {
        self.description = description
        self.expectation = expectation
        self.passed = passed
        self.outcome = outcome
    }
}

/// Everything a migration checked before commit; stored as JSON in the history.
public struct VerificationRecord: Sendable, Hashable, Codable {
    public var level: VerificationLevel
    public var tables: [TableVerification] = []
    /// `PRAGMA foreign_key_check` rows, as "child rowid N -> parent" (at most 20).
    public var foreignKeyViolations: [String] = []
    /// `ok`, `skipped`, or the problems `integrity_check` listed.
    public var integrity: String = "skipped"
    public var invariants: [InvariantResult] = []
    /// The migration's probes (nil in records written before probes existed).
    public var probes: [ProbeResult]?
    /// Indexes, triggers and views present before, absent after, not declared dropped.
    public var lostObjects: [String] = []
    public var schemaChanges = SchemaDifference()
    /// Indexes, triggers and views of the recreated tables put back verbatim
    /// after the rebuild (the migrations' own and any an operator added).
    public var restoredObjects: [String] = []
    /// Columns an operator added to a recreated table, carried over.
    public var carriedColumns: [String] = []
    public var freePagesAfter: Int = 0
    /// How an online migration held the write lock (nil: it ran in one transaction).
    public var online: OnlineFigures?
    /// Each reason the migration may not commit, in words.
    public var failures: [String] = []

    public var passed: Bool { failures.isEmpty }
}

extension VerificationRecord {
    /// For another engine's migrator (PostgreSQL's), which records the same findings.
    package init(level: VerificationLevel) { self.level = level }
}

