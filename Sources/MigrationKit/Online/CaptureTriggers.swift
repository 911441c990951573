/// The triggers that record, while the copy runs, which rows the deployer changed.
///
/// They only append (table number, rowid) to the change log, a table with no
/// constraint at all: whatever conflict clause the deployer's statement carries
/// (it overrides a trigger's), there is nothing for that insert to conflict
/// with, so a trigger cannot fail the deployer's write. They call no function
/// and hold no value but table numbers; the new rows are computed by the
/// migrator from the old ones, with its parameters bound, never in here.
///
/// What they record, per captured table:
/// - after INSERT, UPDATE, DELETE: the row (both rowids when an UPDATE moves it);
/// - before INSERT and UPDATE: the rows holding the new row's unique keys, which an
///   `INSERT OR REPLACE` (or `UPDATE OR REPLACE`) deletes without firing a DELETE
///   trigger unless `recursive_triggers` is on;
/// - for a table a copy joins (v2 -> v3: events take their VM's network): the
///   copied rows that join the changed row, before and after the change.
struct CaptureTriggers {
    let plan: OnlinePlan

    /// CREATE TRIGGER statements, one per event of every captured table.
    var createStatements: [String] {
        plan.triggerTables.flatMap(statements)
    }

    private func log(_ number: Int, _ rowid: String) -> String {
        "INSERT INTO \(plan.names.changes.quotedIdentifier) (tbl, row) VALUES (\(number), \(rowid));"
    }

    /// The rows of copies joining `table` whose join matches the pseudo-row `row` (NEW or OLD).
    private func dependents(_ table: OnlinePlan.TriggerTable, _ row: String) -> [String] {
        table.dependents.map { dependent in
            let child = plan.tables[dependent.table]
            let alias = child.copy.alias
            let condition = Self.replacingQualifier(dependent.join.alias, with: row, in: dependent.join.condition)
            return "INSERT INTO \(plan.names.changes.quotedIdentifier) (tbl, row) SELECT \(child.number), \(alias.quotedIdentifier).rowid FROM \(child.name.quotedIdentifier) AS \(alias.quotedIdentifier) WHERE \(condition);"
        }
    }

    /// The rows holding NEW's unique keys (they would be replaced), and the copied rows joining them.
    private func replaced(_ table: OnlinePlan.TriggerTable, excludingOld: Bool) -> [String] {
        var statements: [String] = []
        let same = excludingOld ? " AND rowid IS NOT OLD.rowid" : ""
        for key in table.uniqueKeys {
            let match = key.map { "\($0.column.quotedIdentifier) = NEW.\($0.column.quotedIdentifier) COLLATE \($0.collation.quotedIdentifier)" }
                .joined(separator: " AND ")
            if let number = table.number {
                statements.append("INSERT INTO \(plan.names.changes.quotedIdentifier) (tbl, row) SELECT \(number), rowid FROM \(table.name.quotedIdentifier) WHERE \(match)\(same);")
            }
            for dependent in table.dependents {
                let child = plan.tables[dependent.table]
                let alias = child.copy.alias, joined = dependent.join.alias
                let keyed = key.map { "\(joined.quotedIdentifier).\($0.column.quotedIdentifier) = NEW.\($0.column.quotedIdentifier) COLLATE \($0.collation.quotedIdentifier)" }
                    .joined(separator: " AND ")
                statements.append("INSERT INTO \(plan.names.changes.quotedIdentifier) (tbl, row) SELECT \(child.number), \(alias.quotedIdentifier).rowid FROM \(child.name.quotedIdentifier) AS \(alias.quotedIdentifier) JOIN \(table.name.quotedIdentifier) AS \(joined.quotedIdentifier) ON (\(dependent.join.condition)) WHERE \(keyed);")
            }
        }
        return statements
    }

    private func statements(_ table: OnlinePlan.TriggerTable) -> [String] {
        let on = table.name.quotedIdentifier
        func trigger(_ event: String, _ timing: String, _ body: [String]) -> String? {
            guard !body.isEmpty else { return nil }
            return "CREATE TRIGGER \(plan.names.trigger(table.name, event).quotedIdentifier) \(timing) ON \(on) BEGIN\n  " + body.joined(separator: "\n  ") + "\nEND"
        }
        let own = { (row: String) in table.number.map { [log($0, row)] } ?? [] }
        let insert = own("NEW.rowid") + dependents(table, "NEW")
        var update = own("OLD.rowid")
        if let number = table.number {
            update.append("INSERT INTO \(plan.names.changes.quotedIdentifier) (tbl, row) SELECT \(number), NEW.rowid WHERE NEW.rowid IS NOT OLD.rowid;")
        }
        update += dependents(table, "OLD") + dependents(table, "NEW")
        let delete = own("OLD.rowid") + dependents(table, "OLD")
        return [
            trigger("ai", "AFTER INSERT", insert),
            trigger("au", "AFTER UPDATE", update),
            trigger("ad", "AFTER DELETE", delete),
            trigger("bi", "BEFORE INSERT", replaced(table, excludingOld: false)),
            trigger("bu", "BEFORE UPDATE", replaced(table, excludingOld: true)),
        ].compactMap { $0 }
    }

    /// `expression` with every `qualifier.column` naming `replacement.column` instead.
    static func replacingQualifier(_ qualifier: String, with replacement: String, in expression: String) -> String {
        let tokens = SQLTokenizer.tokens(expression)
        var utf8 = Array(expression.utf8)
        for (index, token) in tokens.enumerated().reversed()
        where token.canBeName && token.name.equalsIgnoringASCIICase(qualifier)
            && index + 1 < tokens.count && tokens[index + 1].isPunctuation(".")
            && !(index > 0 && tokens[index - 1].isPunctuation(".")) {
            utf8.replaceSubrange(token.range, with: Array(replacement.utf8))
        }
        return String(decoding: utf8, as: UTF8.self)
    }
}
