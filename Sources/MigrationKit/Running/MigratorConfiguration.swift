/// What a ``Migrator`` keeps in a database and beside it, named by its caller,
/// as GRDB's `DatabaseMigrator` takes its own settings: MigrationKit itself
/// knows no tool's names.
public struct MigratorConfiguration: Sendable, Hashable {
    /// The history table, one row per applied migration. An identifier of
    /// letters, digits and underscores.
    public var historyTable: String
    /// Objects whose names start with this are the tool's own bookkeeping (the
    /// history table among them): left out of schema comparisons and reports.
    public var bookkeepingPrefix: String
    /// The advisory lock file beside the database is its path plus this.
    public var lockFileSuffix: String
    /// Temporary folders (the dry run's copy) are named this plus a label.
    public var temporaryFolderPrefix: String

    /// - Precondition: `historyTable` starts with `bookkeepingPrefix` and is a plain identifier.
    public init(historyTable: String = "migration_history", bookkeepingPrefix: String = "migration_",
                lockFileSuffix: String = ".migration-lock", temporaryFolderPrefix: String = "migration-") {
        precondition(historyTable.hasPrefix(bookkeepingPrefix), "the history table must carry the bookkeeping prefix")
        precondition(historyTable.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }, "the history table must be a plain identifier")
        self.historyTable = historyTable
        self.bookkeepingPrefix = bookkeepingPrefix
        self.lockFileSuffix = lockFileSuffix
        self.temporaryFolderPrefix = temporaryFolderPrefix
    }
}
