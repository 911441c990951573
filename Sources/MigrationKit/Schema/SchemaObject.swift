/// One named object of `sqlite_master`: a table, index, trigger or view.
package struct SchemaObject: Sendable, Hashable, Codable {
    package let type: String
    package let name: String
    package let table: String
    /// The SQL as SQLite stores it; nil for automatic indexes of UNIQUE constraints.
    package let sql: String?

    package init(type: String, name: String, table: String, sql: String?) {
        self.type = type
        self.name = name
        self.table = table
        self.sql = sql
    }

    /// The SQL with whitespace and comments folded, keywords and names in one case
    /// (ASCII, as SQLite folds them), names unquoted where a bare word says the same
    /// and double-quoted otherwise, so `CREATE TABLE "vms"` (what RENAME writes)
    /// compares equal to `CREATE TABLE vms`, and `[a b]` to `"a b"`.
    package var normalizedSQL: String? { sql.map(Self.normalized) }

    /// `sql` normalized as ``normalizedSQL`` is.
    static func normalized(_ sql: String) -> String {
        SQLTokenizer.tokens(sql).map { token -> String in
            switch token.kind {
            case .quoted:
                let name = token.name
                return SQLTokenizer.isBareWord(name) ? name.asciiLowercased : name.quotedIdentifier
            case .word: return token.text.asciiLowercased
            default: return token.text
            }
        }.joined(separator: " ")
    }
}
