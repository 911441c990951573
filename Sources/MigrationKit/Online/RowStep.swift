/// A migration step the online path can run on a subset of rows: an `UPDATE` or
/// `DELETE` of one recreated table, so it can run per copy chunk and again on each
/// row the deployer changes (`UPDATE vms SET network = :default_network WHERE …`).
/// It must give the same result when run again on its own result, as a data fix does.
struct RowStep: Sendable {
    let table: String
    let sql: String
    private let head: String
    private let condition: String?

    init(_ sql: String, migration: Int) throws {
        self.sql = sql
        let tokens = SQLTokenizer.tokens(sql).filter { !$0.isPunctuation(";") }
        func refuse() -> MigrationError {
            MigrationError(.onlineNotPossible, "migration \(migration) runs `\(sql.prefix(80))` before its rebuild; online, a step before the rebuild must be one UPDATE or DELETE of a recreated table (with no FROM, RETURNING, ORDER BY or LIMIT), so it can be run per chunk and on every row the deployer changes", version: migration)
        }
        var cursor = 0
        func next() -> SQLToken? { cursor < tokens.count ? tokens[cursor] : nil }
        if next()?.isKeyword("update") == true {
            cursor += 1
            if next()?.isKeyword("or") == true { cursor += 2 }
        } else if next()?.isKeyword("delete") == true, cursor + 1 < tokens.count, tokens[cursor + 1].isKeyword("from") {
            cursor += 2
        } else {
            throw refuse()
        }
        guard let name = next(), name.canBeName, !(cursor + 1 < tokens.count && tokens[cursor + 1].isPunctuation(".")) else { throw refuse() }
        table = name.name
        var depth = 0
        var whereToken: SQLToken?
        for token in tokens[cursor...] {
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            guard depth == 0 else { continue }
            if ["from", "returning", "order", "limit"].contains(where: { token.isKeyword($0) }) { throw refuse() }
            if token.isKeyword("where"), whereToken == nil { whereToken = token }
        }
        // Up to the last token that is not a `;`.
        let end = tokens.last?.range.upperBound ?? sql.utf8.count
        if let whereToken {
            head = sql.utf8Text(0..<whereToken.range.lowerBound).trimmingWhitespace
            condition = sql.utf8Text(whereToken.range.upperBound..<end).trimmingWhitespace
        } else {
            head = sql.utf8Text(0..<end).trimmingWhitespace
            condition = nil
        }
    }

    /// The step restricted to rows matching `filter` (an expression over the table's rowid).
    func sql(filter: String) -> String {
        if let condition { return head + " WHERE (\(condition)) AND " + filter }
        return head + " WHERE " + filter
    }
}
