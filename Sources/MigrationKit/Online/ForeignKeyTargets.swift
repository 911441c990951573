/// Rewrites the parent table of every `REFERENCES` clause in a CREATE TABLE, as
/// ALTER TABLE RENAME does for the tables it renames: the online path creates the
/// new tables pointing at each other's temporary names, and points the old tables
/// at each other once they are renamed out of the way.
enum ForeignKeyTargets {
    /// `sql` with each REFERENCES target found in `renaming` (lowercased names) replaced.
    static func rewrite(_ sql: String, renaming: [String: String]) -> String {
        let tokens = SQLTokenizer.tokens(sql)
        var replacements: [(Range<Int>, String)] = []
        for (index, token) in tokens.enumerated() where token.isKeyword("references") && index + 1 < tokens.count {
            let target = tokens[index + 1]
            guard target.canBeName, let new = renaming[target.name.asciiLowercased] else { continue }
            replacements.append((target.range, new))
        }
        guard !replacements.isEmpty else { return sql }
        var utf8 = Array(sql.utf8)
        for (range, name) in replacements.reversed() { utf8.replaceSubrange(range, with: Array(name.quotedIdentifier.utf8)) }
        return String(decoding: utf8, as: UTF8.self)
    }
}
