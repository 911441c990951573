/// A CREATE TABLE statement split into its parts, so a recreation can rename the
/// table and carry over column definitions an operator added, verbatim.
struct CreateTableStatement {
    /// The statement as written.
    let sql: String
    /// Column definitions in order, as written, with their (unquoted) names.
    let columns: [(name: String, definition: String)]
    /// Where the table's name is written (after `CREATE TABLE [IF NOT EXISTS] [schema.]`).
    private let nameRange: Range<String.Index>
    /// Just after the opening parenthesis of the column list.
    fileprivate let columnListStart: String.Index
    /// Just after the last column definition: where added columns go, before table constraints.
    fileprivate let endOfColumns: String.Index

    private static let constraintKeywords: Set<String> = ["constraint", "primary", "unique", "check", "foreign"]

    init(sql: String) throws {
        self.sql = sql
        let tokens = SQLTokenizer.tokens(sql)
        func unreadable(_ why: String) -> MigrationError {
            MigrationError(.unusableInput, "cannot read this CREATE TABLE statement (\(why)): \(sql.prefix(80))")
        }
        guard let open = tokens.firstIndex(where: { $0.text == "(" }), open >= 1 else {
            throw unreadable("no column list")
        }
        nameRange = tokens[open - 1].range
        columnListStart = tokens[open].range.upperBound
        var depth = 0
        var partStart = open + 1
        var parts: [ArraySlice<SQLToken>] = []
        var closed = false
        for i in open..<tokens.count {
            let token = tokens[i]
            if token.text == "(" { depth += 1 } else if token.text == ")" { depth -= 1 }
            if depth == 0 {
                parts.append(tokens[partStart..<i])
                closed = true
                break
            }
            if token.text == ",", depth == 1 {
                parts.append(tokens[partStart..<i])
                partStart = i + 1
            }
        }
        guard closed else { throw unreadable("unbalanced parentheses") }
        var columns: [(String, String)] = []
        var end = tokens[open].range.upperBound
        for part in parts {
            guard let first = part.first, let last = part.last else { continue }
            if first.kind == .word, Self.constraintKeywords.contains(first.text.lowercased()) { break }
            columns.append((SQLTokenizer.identifier(first), String(sql[first.range.lowerBound..<last.range.upperBound])))
            end = last.range.upperBound
        }
        guard !columns.isEmpty else { throw unreadable("no columns") }
        self.columns = columns
        self.endOfColumns = end
    }

    var columnNames: [String] { columns.map(\.name) }

    /// The same statement creating `name`, with `extraColumns` (definitions as
    /// written) appended after the last column and before any table constraint.
    func sql(renamedTo name: String, addingColumns extraColumns: [String] = []) -> String {
        var result = sql[..<nameRange.lowerBound] + name.quotedIdentifier
        result += sql[nameRange.upperBound..<endOfColumns]
        for definition in extraColumns { result += ",\n    " + definition }
        result += sql[endOfColumns...]
        return String(result)
    }
}

extension CreateTableStatement {
    /// The statement without the named columns (for comparing a table that
    /// carries an operator's columns with the one the migrations define).
    func sql(removingColumns names: [String]) -> String {
        let drop = Set(names.map { $0.lowercased() })
        let kept = columns.filter { !drop.contains($0.name.lowercased()) }.map(\.definition)
        let head = sql[..<columnListStart]
        return head + "\n    " + kept.joined(separator: ",\n    ") + sql[endOfColumns...]
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
