/// The names of the online path's objects in the database, all under the
/// migrator's bookkeeping prefix, so schema reads, `verify` and the census leave
/// them out, and `status` can find them after a crash.
struct OnlineNames: Sendable {
    let prefix: String

    /// The new table, built beside the old one.
    func new(_ table: String) -> String { prefix + "new_" + table }
    /// The old table (or index) after the cut-over (or the prepare), until it is emptied and dropped.
    func old(_ name: String) -> String { prefix + "old_" + name }
    /// An index of a new table until the cut-over gives it its final name: the operator's
    /// index of that name stays theirs (a DROP INDEX during the copy drops their own).
    func newIndex(_ name: String) -> String { prefix + "newidx_" + name }
    /// An old table's index after the cut-over, until the table is dropped with it.
    func oldIndex(_ name: String) -> String { prefix + "oldidx_" + name }
    /// One row per change the deployer made: which table, which rowid.
    var changes: String { prefix + "online_changes" }
    /// Phase, copy positions and counters, read back after a crash.
    var state: String { prefix + "online_state" }
    func trigger(_ table: String, _ event: String) -> String { prefix + "online_" + table + "_" + event }
    /// A TEMP table (the migrator's connection only) where a batch's new rows wait
    /// while the stale rows holding their keys are recomputed.
    func stage(_ table: String) -> String { prefix + "stage_" + table }
    /// Every capture trigger's name starts with this.
    var triggerPrefix: String { prefix + "online_" }
}
