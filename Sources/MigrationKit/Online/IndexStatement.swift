/// A `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (…)`, with where its
/// name and its table are written, so the online path can build it on the new
/// table (empty, before the copy) and rename an old one out of the way.
struct IndexStatement: Sendable {
    let sql: String
    let name: String
    let table: String
    private let nameRange: Range<Int>
    private let tableRange: Range<Int>

    /// Nil when `sql` is not a CREATE INDEX.
    init?(_ sql: String) {
        let tokens = SQLTokenizer.tokens(sql)
        var cursor = 0
        func at(_ i: Int) -> SQLToken? { i < tokens.count ? tokens[i] : nil }
        guard at(0)?.isKeyword("create") == true else { return nil }
        cursor = 1
        if at(cursor)?.isKeyword("unique") == true { cursor += 1 }
        guard at(cursor)?.isKeyword("index") == true else { return nil }
        cursor += 1
        if at(cursor)?.isKeyword("if") == true { cursor += 3 }
        guard let name = at(cursor), name.canBeName, at(cursor + 1)?.isKeyword("on") == true,
              let table = at(cursor + 2), table.canBeName else { return nil }
        self.sql = sql
        self.name = name.name
        self.table = table.name
        nameRange = name.range
        tableRange = table.range
    }

    /// The same index under another name and/or on another table.
    func sql(name newName: String? = nil, table newTable: String? = nil) -> String {
        var utf8 = Array(sql.utf8)
        // The table comes after the name: replace it first so the name's offsets hold.
        if let newTable { utf8.replaceSubrange(tableRange, with: Array(newTable.quotedIdentifier.utf8)) }
        if let newName { utf8.replaceSubrange(nameRange, with: Array(newName.quotedIdentifier.utf8)) }
        return String(decoding: utf8, as: UTF8.self)
    }
}
