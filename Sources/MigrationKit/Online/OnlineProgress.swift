import GRDB

/// An online migration found in a database (``DatabaseStatus/online``): what is
/// there, and how far it got, as its state table records it.
public struct OnlineProgress: Sendable, Codable, Hashable {
    public struct Table: Sendable, Codable, Hashable {
        public let table: String
        /// Whether every row is in the new table (rows the deployer changes keep being followed).
        public let copied: Bool
        /// Rows of the old table still to copy (0 once copied).
        public let rowsLeft: Int
    }

    public let version: Int
    /// `copy` (new tables being filled and kept in sync; the deployer uses the old ones),
    /// `verify` (every row copied: catching up, verifying, cutting over),
    /// `drain` (cut over: the migration is applied; old tables being emptied), or
    /// `abort` (given up: the new tables being removed).
    public let phase: String
    public let tables: [Table]
    /// Changes the deployer made that are not yet in the new tables.
    public let pendingChanges: Int
    public let startedAt: String
    /// Whether the migration is applied (phase `drain`: the deployer writes the new
    /// version; only the old tables' rows are left to empty).
    public let isApplied: Bool
    /// What finishes or resumes it, in a sentence.
    public let next: String

    static func read(_ db: Database, names: OnlineNames) throws -> OnlineProgress? {
        guard let state = try OnlineState.read(db, names: names) else { return nil }
        var tables: [Table] = []
        for (number, table) in state.tables.enumerated() {
            let source = state.phase == .drain ? names.old(table) : table
            var left = 0
            if let below = state.copiedBelow[number], state.phase == .copy || state.phase == .verify, try db.tableExists(source) {
                left = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(source.quotedIdentifier) WHERE rowid >= ?", arguments: [below]) ?? 0
            } else if state.phase == .drain || state.phase == .abort, try db.tableExists(state.phase == .drain ? names.old(table) : names.new(table)) {
                left = try Int.fetchOne(db, sql: "SELECT count(*) FROM \((state.phase == .drain ? names.old(table) : names.new(table)).quotedIdentifier)") ?? 0
            }
            tables.append(Table(table: table, copied: state.copiedBelow[number] == nil, rowsLeft: left))
        }
        let pending = try db.tableExists(names.changes)
            ? try Int.fetchOne(db, sql: "SELECT count(*) FROM \(names.changes.quotedIdentifier) WHERE seq > ?", arguments: [state.appliedChange]) ?? 0
            : 0
        let next = switch state.phase {
        case .copy, .verify:
            "an online migrate run resumes it; a migrate run without --online undoes it first, then migrates offline"
        case .drain:
            "the migration is applied; the next migrate run, with or without --online, empties the old tables in short transactions (the deployer keeps writing) and drops them before anything else"
        case .abort:
            "the next migrate run finishes removing it, then migrates"
        }
        return OnlineProgress(version: state.version, phase: state.phase.rawValue, tables: tables, pendingChanges: pending, startedAt: state.startedAt,
                              isApplied: state.phase == .drain, next: next)
    }
}
