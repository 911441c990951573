/// A recreated table's copy, cut into the parts the online path needs:
/// `INSERT INTO new (targets) SELECT … FROM old [AS a] [JOIN p [AS b] ON …]… [WHERE …]`.
///
/// The online path runs it again and again with a filter on the driving table's
/// rowid (a chunk, or the rows the deployer changed), so only a row-by-row SELECT
/// qualifies: no grouping, ordering, limits, compound selects or subqueries in FROM.
struct CopyQuery: Sendable {
    /// A table the copy joins to the driving one: a change to one of its rows changes
    /// the new rows of the driving rows it matches.
    struct Join: Sendable {
        let table: String
        let alias: String
        /// The ON expression, as written.
        let condition: String
    }

    /// The driving table's alias (its name when it has none).
    let alias: String
    let joins: [Join]
    /// `INSERT INTO new (targets)`.
    private let insert: String
    /// `SELECT … FROM … JOIN …`, without the WHERE clause.
    private let selectHead: String
    /// `FROM … JOIN …`, without the WHERE clause.
    private let from: String
    /// The copy's own WHERE condition, if any.
    private let condition: String?

    /// `select` is `SELECT list FROM table …`; `insert` is `INSERT INTO new (targets)`.
    init(insert: String, select: String, table: String) throws {
        let tokens = SQLTokenizer.tokens(select)
        func refuse(_ why: String) -> MigrationError {
            MigrationError(.onlineNotPossible, "the copy of table \(table) \(why), so it cannot be repeated row by row while the deployer writes")
        }
        var depth = 0
        var fromIndex: Int?
        var whereIndex: Int?
        for (index, token) in tokens.enumerated() {
            if token.isPunctuation("(") { depth += 1; continue }
            if token.isPunctuation(")") { depth -= 1; continue }
            guard depth == 0, token.kind == .word else { continue }
            for word in ["group", "order", "limit", "having", "window", "union", "except", "intersect", "distinct", "values", "with", "natural", "using"]
            where token.isKeyword(word) {
                throw refuse("uses \(word.uppercased())")
            }
            if token.isKeyword("from"), fromIndex == nil { fromIndex = index }
            if token.isKeyword("where"), fromIndex != nil, whereIndex == nil { whereIndex = index }
        }
        guard let fromIndex else { throw refuse("has no FROM") }
        let end = whereIndex ?? tokens.count
        var cursor = fromIndex + 1
        func name() throws -> String {
            guard cursor < end, tokens[cursor].canBeName, !tokens[cursor].isPunctuation("(") else { throw refuse("reads from something other than a table") }
            defer { cursor += 1 }
            if cursor + 1 < end, tokens[cursor + 1].isPunctuation(".") { throw refuse("names a schema") }
            return tokens[cursor].name
        }
        let joinWords = ["join", "left", "inner", "cross", "outer", "on", "where"]
        func aliasOr(_ table: String) -> String {
            if cursor < end, tokens[cursor].isKeyword("as") { cursor += 1 }
            if cursor < end, tokens[cursor].canBeName, !joinWords.contains(where: { tokens[cursor].isKeyword($0) }) {
                defer { cursor += 1 }
                return tokens[cursor].name
            }
            return table
        }
        let driving = try name()
        guard driving.equalsIgnoringASCIICase(table) else { throw refuse("reads \(driving) first, not \(table)") }
        alias = aliasOr(driving)
        var joins: [Join] = []
        while cursor < end {
            if tokens[cursor].isPunctuation(",") { throw refuse("joins with a comma (write JOIN … ON …)") }
            while cursor < end, ["left", "inner", "cross", "outer"].contains(where: { tokens[cursor].isKeyword($0) }) { cursor += 1 }
            guard cursor < end, tokens[cursor].isKeyword("join") else { throw refuse("has a FROM clause other than table JOIN table ON …") }
            cursor += 1
            let joined = try name()
            let joinedAlias = aliasOr(joined)
            guard cursor < end, tokens[cursor].isKeyword("on") else { throw refuse("joins \(joined) without ON") }
            cursor += 1
            let start = cursor
            var level = 0
            while cursor < end {
                let token = tokens[cursor]
                if token.isPunctuation("(") { level += 1 } else if token.isPunctuation(")") { level -= 1 }
                if level == 0, ["join", "left", "inner", "cross"].contains(where: { token.isKeyword($0) }) { break }
                cursor += 1
            }
            guard cursor > start else { throw refuse("joins \(joined) with an empty ON") }
            let condition = select.utf8Text(tokens[start].range.lowerBound..<tokens[cursor - 1].range.upperBound)
            joins.append(Join(table: joined, alias: joinedAlias, condition: condition))
        }
        self.joins = joins
        let headEnd = whereIndex.map { tokens[$0].range.lowerBound } ?? select.utf8.count
        self.insert = insert
        selectHead = select.utf8Text(0..<headEnd).trimmingWhitespace
        from = select.utf8Text(tokens[fromIndex].range.lowerBound..<headEnd).trimmingWhitespace
        condition = whereIndex.map { select.utf8Text(tokens[$0].range.upperBound..<select.utf8.count).trimmingWhitespace }
    }

    /// The copy restricted by `filter`, an expression over the driving alias.
    func sql(filter: String) -> String {
        insert + "\n" + select(filter: filter)
    }

    /// The rowids of `join`'s table that the rows `filter` selects join, as the copy joins them.
    func joinedRows(_ join: Join, filter: String) -> String {
        let rows = "SELECT \(join.alias.quotedIdentifier).rowid \(from)"
        if let condition { return rows + " WHERE (\(condition)) AND " + filter }
        return rows + " WHERE " + filter
    }

    /// The copy's SELECT alone, restricted by `filter`: the new rows it would insert.
    func select(filter: String) -> String {
        if let condition { return selectHead + "\nWHERE (\(condition)) AND " + filter }
        return selectHead + "\nWHERE " + filter
    }
}
