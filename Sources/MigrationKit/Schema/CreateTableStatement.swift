/// A CREATE TABLE statement read the way SQLite reads it (its tokenizer,
/// ``SQLTokenizer``, and the column rules of its grammar, parse.y and build.c),
/// so a recreation can rename the table and carry over column definitions an
/// operator added, verbatim.
///
/// What it claims about each column (name, declared type, place in the primary key,
/// generated or not) is what `pragma_table_xinfo` says of the table SQLite builds from
/// the same statement; ``CreateTableStatement/read(_:table:)`` checks that at run time
/// and `CreateTableReaderTests` on thousands of generated statements.
struct CreateTableStatement {
    struct Column: Sendable, Hashable {
        /// `GENERATED ALWAYS AS (…) VIRTUAL | STORED`, or bare `AS (…)` (virtual unless stored).
        enum Generated: String, Sendable, Hashable {
            case virtual, stored
        }

        /// The name, unquoted.
        let name: String
        /// As `pragma_table_info` reports it: the type as written (comments, spaces and
        /// arguments included), unquoted, `INT`, `INTEGER`, `REAL`, `TEXT`, `BLOB` and
        /// `ANY` in capitals; empty when none is written.
        let declaredType: String
        /// Its place in the primary key, from 1, or 0 (`pragma_table_info`'s `pk`).
        fileprivate(set) var primaryKeyPosition: Int
        let generated: Generated?
        /// As written, from its name to its last token.
        let definition: String

        var isGenerated: Bool { generated != nil }
    }

    /// The statement as written.
    let sql: String
    /// The table's name, unquoted.
    let tableName: String
    /// Column definitions in order.
    let columns: [Column]
    /// Table constraints (`PRIMARY KEY (…)`, `UNIQUE (…)`, `CHECK (…)`, `FOREIGN KEY …`,
    /// each with its `CONSTRAINT name`), as written.
    let tableConstraints: [String]
    let isWithoutRowid: Bool
    let isStrict: Bool

    /// The statement's UTF-8 (up to a NUL, where SQLite stops): token ranges index it.
    private let utf8: [UInt8]
    /// Where the table's name is written (after `CREATE TABLE [IF NOT EXISTS] [schema.]`).
    private let nameRange: Range<Int>
    /// Just after the opening parenthesis of the column list.
    fileprivate let columnListStart: Int
    /// Just after the last column definition: where added columns go, before table constraints.
    fileprivate let endOfColumns: Int

    /// Words that start a table constraint where a column definition could start; none
    /// of them can be an unquoted column name (parse.y: they are not `%fallback ID`).
    private static let tableConstraintKeywords: Set<String> = ["constraint", "primary", "unique", "check", "foreign"]
    /// Words that end a column's type: the first word of a column constraint (parse.y
    /// `ccons`; a lone `DEFERRABLE` is one, found by the fuzzer). Other words after the
    /// name, keywords that fall back to names included (GENERATED, ALWAYS, KEY, MATCH …),
    /// belong to the type, as SQLite's grammar takes them.
    private static let columnConstraintKeywords: Set<String> = [
        "constraint", "default", "null", "not", "primary", "unique", "check", "references", "deferrable", "collate", "as",
    ]
    /// Type names SQLite stores by number and reports in capitals (build.c `sqlite3StdType`).
    private static let standardTypes: [String] = ["ANY", "BLOB", "INT", "INTEGER", "REAL", "TEXT"]

    /// - Throws: `MigrationError` `.unreadableSchema` for what is not a CREATE TABLE
    ///   statement with a column list (a virtual table, `CREATE TABLE … AS SELECT`).
    init(sql: String) throws {
        self.sql = sql
        var utf8 = Array(sql.utf8)
        if let nul = utf8.firstIndex(of: 0) { utf8.removeSubrange(nul...) }
        self.utf8 = utf8
        let tokens = SQLTokenizer.tokens(utf8: utf8)
        func unreadable(_ why: String) -> MigrationError {
            MigrationError(.unreadableSchema, "cannot read this CREATE TABLE statement (\(why)): \(sql.prefix(80))")
        }
        var p = 0
        func next(_ keyword: String) -> Bool {
            guard p < tokens.count, tokens[p].isKeyword(keyword) else { return false }
            p += 1
            return true
        }
        guard next("create") else { throw unreadable("it does not start with CREATE") }
        _ = next("temp") || next("temporary")
        if p < tokens.count, tokens[p].isKeyword("virtual") { throw unreadable("a virtual table") }
        guard next("table") else { throw unreadable("not a table") }
        if p + 2 < tokens.count, tokens[p].isKeyword("if"), tokens[p + 1].isKeyword("not"), tokens[p + 2].isKeyword("exists") {
            p += 3
        }
        guard p < tokens.count, tokens[p].canBeName else { throw unreadable("no table name") }
        var nameToken = tokens[p]
        p += 1
        if p + 1 < tokens.count, tokens[p].isPunctuation("."), tokens[p + 1].canBeName {
            nameToken = tokens[p + 1]
            p += 2
        }
        guard p < tokens.count, tokens[p].isPunctuation("(") else { throw unreadable("no column list") }
        tableName = nameToken.name
        nameRange = nameToken.range
        columnListStart = tokens[p].range.upperBound

        // The column list, split at its own commas.
        let open = p
        var depth = 0
        var partStart = open + 1
        var parts: [Range<Int>] = []
        var close: Int?
        for i in open..<tokens.count {
            if tokens[i].isPunctuation("(") { depth += 1 } else if tokens[i].isPunctuation(")") { depth -= 1 }
            if depth == 0 {
                parts.append(partStart..<i)
                close = i
                break
            }
            if depth == 1, tokens[i].isPunctuation(",") {
                parts.append(partStart..<i)
                partStart = i + 1
            }
        }
        guard let close else { throw unreadable("unbalanced parentheses") }

        var columns: [Column] = []
        var end = columnListStart
        var constraintsStart = close
        for part in parts {
            guard let first = part.first.map({ tokens[$0] }) else { throw unreadable("an empty column definition") }
            if first.kind == .word, Self.tableConstraintKeywords.contains(first.text.asciiLowercased) {
                constraintsStart = part.lowerBound
                break
            }
            columns.append(try Self.column(Array(tokens[part]), utf8: utf8, unreadable: unreadable))
            end = tokens[part.upperBound - 1].range.upperBound
        }
        guard !columns.isEmpty else { throw unreadable("no columns") }
        endOfColumns = end

        tableConstraints = Self.split(Array(tokens[constraintsStart..<close])).map {
            String(decoding: utf8[$0.first!.range.lowerBound..<$0.last!.range.upperBound], as: UTF8.self)
        }
        // PRIMARY KEY (…) among the table constraints numbers its columns in its order.
        if let key = Self.primaryKeyNames(Array(tokens[constraintsStart..<close])) {
            for (position, name) in key.enumerated() {
                if let index = columns.firstIndex(where: { $0.name.equalsIgnoringASCIICase(name) }) {
                    columns[index].primaryKeyPosition = position + 1
                }
            }
        }
        self.columns = columns

        // Table options: WITHOUT ROWID, STRICT (bare words only: SQLite compares the token as written).
        var options = Array(tokens[(close + 1)...])
        if let semicolon = options.firstIndex(where: { $0.isPunctuation(";") }) { options.removeSubrange(semicolon...) }
        isWithoutRowid = zip(options, options.dropFirst()).contains { $0.isKeyword("without") && $1.isKeyword("rowid") }
        isStrict = options.contains { $0.isKeyword("strict") }
    }

    var columnNames: [String] { columns.map(\.name) }
    /// The columns a row is written to: all but the generated ones, which SQLite computes.
    var insertableColumns: [Column] { columns.filter { !$0.isGenerated } }

    /// The column named `name`, matched as SQLite matches names (ASCII case only).
    func column(named name: String) -> Column? {
        columns.first { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// The same statement creating `name`, with `extraColumns` (definitions as
    /// written) appended after the last column and before any table constraint.
    ///
    /// References to the table itself in the column list (`vms.quota`, `main.vms.quota`,
    /// quoted or not, in a CHECK) name `name` too. SQLite resolves them when the table
    /// is created, so a CHECK naming `vms` fails on a table created as `vms__vmdb_new`
    /// ("no such column: vms.quota"); written for the new name it holds, and SQLite's
    /// RENAME writes it back (`"vms".quota`) when the table is renamed into place, as
    /// it does for every reference in the renamed table's CHECK constraints.
    /// (Generated columns cannot name a table: SQLite refuses "." in them.)
    func sql(renamedTo name: String, addingColumns extraColumns: [String] = []) -> String {
        var body = text(nameRange.upperBound..<endOfColumns)
        for definition in extraColumns { body += ",\n    " + definition }
        body += text(endOfColumns..<utf8.count)
        return text(0..<nameRange.lowerBound) + name.quotedIdentifier + Self.renamingReferences(in: body, from: tableName, to: name)
    }

    /// `sql` with every `table.column` and `schema.table.column` whose table is `old`
    /// naming `new` instead.
    private static func renamingReferences(in sql: String, from old: String, to new: String) -> String {
        let tokens = SQLTokenizer.tokens(sql)
        var replacements: [Range<Int>] = []
        var i = 0
        while i < tokens.count {
            // A maximal chain name(.name)*: in a.b the table is a, in s.a.b it is a.
            var chain = [i]
            while let last = chain.last, last + 2 < tokens.count, tokens[last].canBeName,
                tokens[last + 1].isPunctuation("."), tokens[last + 2].canBeName
            {
                chain.append(last + 2)
            }
            if chain.count == 2 || chain.count == 3 {
                let table = tokens[chain[chain.count - 2]]
                if table.name.equalsIgnoringASCIICase(old) { replacements.append(table.range) }
            }
            i = (chain.last ?? i) + 1
        }
        guard !replacements.isEmpty else { return sql }
        var utf8 = Array(sql.utf8)
        for range in replacements.reversed() { utf8.replaceSubrange(range, with: Array(new.quotedIdentifier.utf8)) }
        return String(decoding: utf8, as: UTF8.self)
    }

    fileprivate func text(_ range: Range<Int>) -> String {
        String(decoding: utf8[range], as: UTF8.self)
    }

    // MARK: Reading one column

    private static func column(_ tokens: [SQLToken], utf8: [UInt8], unreadable: (String) -> MigrationError) throws -> Column {
        let first = tokens[0]
        guard first.canBeName else { throw unreadable("a column definition starts with \(first.text)") }
        // The type: names and strings up to the first column constraint, then an
        // optional `(n)` or `(n, m)` (parse.y `typetoken`).
        var j = 1
        while j < tokens.count {
            let token = tokens[j]
            if token.kind == .word, columnConstraintKeywords.contains(token.text.asciiLowercased) { break }
            if token.canBeName {
                j += 1
                continue
            }
            if token.isPunctuation("("), j > 1 { j = matchingClose(tokens, from: j) + 1 }
            break
        }
        let declaredType = j > 1 ? Self.declaredType(Array(utf8[tokens[1].range.lowerBound..<tokens[j - 1].range.upperBound])) : ""

        // The constraints, at their own depth: PRIMARY KEY, and AS (…) [VIRTUAL|STORED].
        var isPrimaryKey = false
        var generated: Column.Generated?
        var k = j
        while k < tokens.count {
            let token = tokens[k]
            if token.isPunctuation("(") {
                k = matchingClose(tokens, from: k) + 1
                continue
            }
            if token.isKeyword("primary"), k + 1 < tokens.count, tokens[k + 1].isKeyword("key") {
                isPrimaryKey = true
            } else if token.isKeyword("as"), k + 1 < tokens.count, tokens[k + 1].isPunctuation("(") {
                let after = matchingClose(tokens, from: k + 1) + 1
                generated = after < tokens.count && tokens[after].isKeyword("stored") ? .stored : .virtual
                k = after
                continue
            }
            k += 1
        }
        let definition = String(decoding: utf8[first.range.lowerBound..<tokens[tokens.count - 1].range.upperBound], as: UTF8.self)
        return Column(
            name: first.name, declaredType: declaredType, primaryKeyPosition: isPrimaryKey ? 1 : 0,
            generated: generated, definition: definition)
    }

    /// The index of the `)` that closes the `(` at `open` (the last token when none does).
    private static func matchingClose(_ tokens: [SQLToken], from open: Int) -> Int {
        var depth = 0
        for i in open..<tokens.count {
            if tokens[i].isPunctuation("(") { depth += 1 } else if tokens[i].isPunctuation(")") { depth -= 1 }
            if depth == 0 { return i }
        }
        return tokens.count - 1
    }

    /// The declared type as SQLite keeps it (build.c `sqlite3AddColumn`): a type of 16
    /// bytes or more ending in `always` loses it, and a `generated` before it (the
    /// parser can take both keywords into the type); a quoted type loses its quotes;
    /// a standard type name is kept in capitals.
    private static func declaredType(_ raw: [UInt8]) -> String {
        var type = raw
        func dropTrailingSpaces() { while let last = type.last, SQLTokenizer.isSpace(last) { type.removeLast() } }
        func hasSuffix(_ word: String) -> Bool {
            type.count >= word.utf8.count && String(decoding: type.suffix(word.utf8.count), as: UTF8.self).equalsIgnoringASCIICase(word)
        }
        if type.count >= 16, hasSuffix("always") {
            type.removeLast(6)
            dropTrailingSpaces()
            if type.count >= 9, hasSuffix("generated") {
                type.removeLast(9)
                dropTrailingSpaces()
            }
        }
        // `sqlite3DequoteToken`: the first and last bytes go when the first is a quote
        // and none is inside (so `[x] y` keeps `x] `, as SQLite does).
        let quotes: Set<UInt8> = [UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"), UInt8(ascii: "[")]
        if type.count >= 3, let first = type.first, quotes.contains(first), !type.dropFirst().dropLast().contains(where: quotes.contains) {
            type = Array(type.dropFirst().dropLast())
        }
        let text = String(decoding: type, as: UTF8.self)
        if let standard = standardTypes.first(where: { $0.equalsIgnoringASCIICase(text) }) { return standard }
        return SQLTokenizer.dequoted(text)
    }

    /// Table constraints one by one: SQLite lets them follow each other with or without
    /// a comma, so each starts at a comma or at its first keyword (`CONSTRAINT name`
    /// belongs to the keyword after it).
    private static func split(_ tokens: [SQLToken]) -> [[SQLToken]] {
        var constraints: [[SQLToken]] = []
        var current: [SQLToken] = []
        var depth = 0
        for token in tokens {
            if depth == 0, token.isPunctuation(",") {
                if !current.isEmpty { constraints.append(current) }
                current = []
                continue
            }
            let named = current.count == 2 && current[0].isKeyword("constraint")
            if depth == 0, !current.isEmpty, !named, token.kind == .word, tableConstraintKeywords.contains(token.text.asciiLowercased) {
                constraints.append(current)
                current = []
            }
            if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
            current.append(token)
        }
        if !current.isEmpty { constraints.append(current) }
        return constraints
    }

    /// The column names of a `PRIMARY KEY (…)` table constraint, in order, each as
    /// SQLite finds it: collations, ASC/DESC, AUTOINCREMENT and parentheses around it
    /// dropped, a string taken as a name. Nil when there is none.
    private static func primaryKeyNames(_ tokens: [SQLToken]) -> [String]? {
        var i = 0
        while i < tokens.count {
            if tokens[i].isPunctuation("(") {
                i = matchingClose(tokens, from: i) + 1
                continue
            }
            if tokens[i].isKeyword("primary"), i + 2 < tokens.count, tokens[i + 1].isKeyword("key"), tokens[i + 2].isPunctuation("(") {
                let close = matchingClose(tokens, from: i + 2)
                var names: [String] = []
                var element: [SQLToken] = []
                var depth = 0
                for token in tokens[(i + 3)..<close] {
                    if token.isPunctuation("(") { depth += 1 } else if token.isPunctuation(")") { depth -= 1 }
                    if depth == 0, token.isPunctuation(",") {
                        names.append(keyColumnName(element))
                        element = []
                    } else {
                        element.append(token)
                    }
                }
                names.append(keyColumnName(element))
                return names
            }
            i += 1
        }
        return nil
    }

    /// `((name)) COLLATE x DESC` → `name`; what is not a bare name comes back as written.
    private static func keyColumnName(_ element: [SQLToken]) -> String {
        var tokens = element[...]
        while true {
            // A lone DESC (or ASC) is a column of that name: both fall back to names.
            if tokens.count >= 2, let last = tokens.last, last.isKeyword("asc") || last.isKeyword("desc") || last.isKeyword("autoincrement") {
                tokens = tokens.dropLast()
            } else if tokens.count >= 3, tokens[tokens.endIndex - 2].isKeyword("collate") {
                tokens = tokens.dropLast(2)
            } else if tokens.count >= 2, tokens.first?.isPunctuation("(") == true, tokens.last?.isPunctuation(")") == true,
                matchingClose(Array(tokens), from: 0) == tokens.count - 1
            {
                tokens = tokens.dropFirst().dropLast()
            } else {
                break
            }
        }
        guard tokens.count == 1, let only = tokens.first, only.canBeName else { return tokens.map(\.text).joined(separator: " ") }
        return only.name
    }
}

extension CreateTableStatement {
    /// The statement without the named columns (for comparing a table that
    /// carries an operator's columns with the one the migrations define).
    func sql(removingColumns names: [String]) -> String {
        let kept = columns.filter { column in !names.contains { $0.equalsIgnoringASCIICase(column.name) } }.map(\.definition)
        return text(0..<columnListStart) + "\n    " + kept.joined(separator: ",\n    ") + text(endOfColumns..<utf8.count)
    }
}
