/// What a migrate run finished of an earlier online run before its own work
/// (``MigrationRunReport/finishedEarlierRun``).
public struct FinishedOnlineRun: Sendable, Codable, Hashable {
    public enum Work: String, Sendable, Codable {
        /// The migration was applied at its cut-over; its old tables were emptied and dropped.
        case drain
        /// The online run had not cut over; its new tables and capture triggers were removed.
        case undo
    }

    /// The online migration's version.
    public let version: Int
    public let work: Work
    /// Rows emptied from the tables that went.
    public let rows: Int
    public let seconds: Double
}
