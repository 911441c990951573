/// One named object of `sqlite_master`: a table, index, trigger or view.
public struct SchemaObject: Sendable, Hashable, Codable {
    public let type: String
    public let name: String
    public let table: String
    /// The SQL as SQLite stores it; nil for automatic indexes of UNIQUE constraints.
    public let sql: String?

    public init(type: String, name: String, table: String, sql: String?) {
        self.type = type
        self.name = name
        self.table = table
        self.sql = sql
    }

    /// The SQL with whitespace folded and the first identifier unquoted, so
    /// `CREATE TABLE "vms"` (what RENAME writes) compares equal to `CREATE TABLE vms`.
    public var normalizedSQL: String? {
        guard let sql else { return nil }
        let tokens = SQLTokenizer.tokens(sql)
        return tokens.map { token -> String in
            switch token.kind {
            case .quoted where token.text.first == "\"" || token.text.first == "`" || token.text.first == "[":
                let identifier = SQLTokenizer.identifier(token)
                let plain = identifier.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && !(identifier.first?.isNumber ?? true)
                return plain ? identifier.lowercased() : token.text.description
            case .word: return token.text.lowercased()
            default: return String(token.text)
            }
        }.joined(separator: " ")
    }
}
