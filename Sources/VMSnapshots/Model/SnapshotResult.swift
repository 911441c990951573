/// What a migrated snapshot holds: the part of `expected.json` that verify compares.
public struct SnapshotResult: Sendable, Codable, Equatable {
    /// One table's content after migration.
    public struct Table: Sendable, Codable, Equatable {
        public var rows: Int
        /// Order-independent hash of every row (see `ContentHasher.hashAllColumns`).
        public var contentHash: String
        /// Rows per value of the table's `network` column, when it has one (`<null>` for NULL).
        public var rowsPerNetwork: [String: Int]?
    }

    /// One row of the history table, without its timestamps and durations.
    public struct HistoryEntry: Sendable, Codable, Equatable {
        public var version: Int
        public var name: String
        /// `applied` or `baseline`.
        public var kind: String
    }

    /// One `sqlite_master` entry (tables, indexes, triggers, views; vmdb's own and SQLite's left out).
    public struct SchemaEntry: Sendable, Codable, Equatable {
        public var type: String
        public var name: String
        public var table: String
        /// As SQLite stores it; compared whitespace- and case-normalised (`SchemaObject.normalizedSQL`).
        public var sql: String?
    }

    /// One table's census as a migration recorded it (MigrationKit's `VerificationRecord`).
    public struct Census: Sendable, Codable, Equatable {
        public var rowsBefore: Int
        public var rowsAfter: Int?
        public var hashBefore: String?
        public var hashAfter: String?
    }

    /// One migration of the run, from its verification record.
    public struct Migration: Sendable, Codable, Equatable {
        public var version: Int
        public var name: String
        public var tables: [String: Census]
        /// Indexes, triggers and views put back after a table was recreated.
        public var restoredObjects: [String]
        /// Columns an operator added, carried into recreated tables.
        public var carriedColumns: [String]
    }

    /// The schema version after migrating.
    public var version: Int
    /// The version stamped when the dump had no history table.
    public var baselinedVersion: Int?
    public var history: [HistoryEntry]
    public var tables: [String: Table]
    public var schema: [SchemaEntry]
    /// What the schema has beyond a fresh install at the same version (kept, not drift).
    public var operatorAdditions: [String]
    public var migrations: [Migration]
}
