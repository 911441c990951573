/// The old tables an online migration left to empty after its cut-over
/// (``MigrationResult/pendingDrain``): the migration is applied and the deployer writes
/// the new version; the next migrate run, in any mode, empties and drops them first.
public struct PendingDrain: Sendable, Codable, Hashable {
    /// Rows still in the old tables (nil: they could not be counted, after an I/O error).
    public let rowsLeft: Int?
    /// Nil when the run was asked to leave them (``OnlineSettings/Drain/later``);
    /// otherwise what stopped the drain. The migration stands either way.
    public let interruption: String?
}
