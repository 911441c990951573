import PostgresNIO

/// A block of a migration's SQL, cut into statements PostgreSQL's extended protocol
/// runs one at a time, each with its `:name` parameters turned into bound `$n`
/// values: nothing from a parameter is ever spliced into the text.
///
/// The scanner knows what PostgreSQL's lexer knows about where a `;` or a `:` is
/// not what it seems: in a string ('…', E'…' with backslash escapes), a quoted
/// identifier ("…"), a dollar-quoted body ($tag$…$tag$), a comment (-- and nested
/// /* */), and the `::` cast.
struct PostgresScript {
    struct Statement: Equatable {
        /// The text with `$1`, `$2`… in place of the parameters.
        let sql: String
        /// The parameter names, in `$n` order.
        let parameters: [String]
    }

    let statements: [Statement]

    init(_ text: String) {
        var statements: [Statement] = []
        var sql = ""
        var names: [String] = []
        let characters = Array(text.unicodeScalars)
        var i = 0
        func finish() {
            let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty && !Self.isOnlyComments(trimmed) { statements.append(Statement(sql: trimmed, parameters: names)) }
            sql = ""
            names = []
        }
        func copy(while condition: (Int) -> Bool) {
            while i < characters.count && condition(i) {
                sql.unicodeScalars.append(characters[i])
                i += 1
            }
        }
        func at(_ offset: Int) -> Unicode.Scalar? { i + offset < characters.count ? characters[i + offset] : nil }
        // A string or a quoted name, to its closing quote (a doubled quote is one inside it).
        func copyQuoted(_ quote: Unicode.Scalar, backslashEscapes: Bool) {
            sql.unicodeScalars.append(quote)
            i += 1
            while i < characters.count {
                let d = characters[i]
                sql.unicodeScalars.append(d)
                i += 1
                if backslashEscapes && d == "\\", i < characters.count {
                    sql.unicodeScalars.append(characters[i])
                    i += 1
                } else if d == quote {
                    if at(0) == quote { sql.unicodeScalars.append(quote); i += 1 } else { break }
                }
            }
        }
        while i < characters.count {
            let c = characters[i]
            switch c {
            case "'":
                // E'…' (the E already copied) also takes backslash escapes.
                copyQuoted("'", backslashEscapes: i > 0 && (characters[i - 1] == "E" || characters[i - 1] == "e"))
            case "\"":
                copyQuoted("\"", backslashEscapes: false)
            case "-" where at(1) == "-":
                copy { characters[$0] != "\n" }
            case "/" where at(1) == "*":
                var depth = 0
                while i < characters.count {
                    if characters[i] == "/" && at(1) == "*" {
                        depth += 1
                        sql += "/*"
                        i += 2
                    } else if characters[i] == "*" && at(1) == "/" {
                        depth -= 1
                        sql += "*/"
                        i += 2
                        if depth == 0 { break }
                    } else {
                        sql.unicodeScalars.append(characters[i])
                        i += 1
                    }
                }
            case "$" where Self.dollarTag(characters, at: i) != nil:
                let tag = Self.dollarTag(characters, at: i)!
                sql += tag
                i += tag.unicodeScalars.count
                while i < characters.count && !Self.matches(characters, at: i, tag) {
                    sql.unicodeScalars.append(characters[i])
                    i += 1
                }
                if i < characters.count {
                    sql += tag
                    i += tag.unicodeScalars.count
                }
            case ":" where at(1) == ":":
                sql += "::"
                i += 2
            case ":" where at(1).map(Self.startsName) == true:
                i += 1
                var name = ""
                while i < characters.count && Self.continuesName(characters[i]) {
                    name.unicodeScalars.append(characters[i])
                    i += 1
                }
                if let index = names.firstIndex(of: name) {
                    sql += "$\(index + 1)"
                } else {
                    names.append(name)
                    sql += "$\(names.count)"
                }
            case ";":
                i += 1
                finish()
            default:
                sql.unicodeScalars.append(c)
                i += 1
            }
        }
        finish()
        self.statements = statements
    }

    /// The statement's query with its parameters bound from `values`, as text; an absent
    /// one binds NULL, as on SQLite (a parameter the data needs is asked for before).
    static func query(_ statement: Statement, values: [String: String]) -> PostgresQuery {
        var bindings = PostgresBindings()
        for name in statement.parameters { bindings.append(values[name]) }
        return PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
    }

    private static func startsName(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
    private static func continuesName(_ c: Unicode.Scalar) -> Bool { startsName(c) || ("0"..."9").contains(c) }

    /// `$tag$` or `$$` starting at `i` (a `$1` parameter placeholder is not a tag).
    private static func dollarTag(_ characters: [Unicode.Scalar], at i: Int) -> String? {
        var j = i + 1
        var tag = "$"
        while j < characters.count, characters[j] != "$" {
            guard j == i + 1 ? startsName(characters[j]) : continuesName(characters[j]) else { return nil }
            tag.unicodeScalars.append(characters[j])
            j += 1
        }
        guard j < characters.count else { return nil }
        return tag + "$"
    }

    private static func matches(_ characters: [Unicode.Scalar], at i: Int, _ tag: String) -> Bool {
        let scalars = Array(tag.unicodeScalars)
        guard i + scalars.count <= characters.count else { return false }
        return Array(characters[i..<(i + scalars.count)]) == scalars
    }

    /// Only comments and blanks: nothing to run.
    private static func isOnlyComments(_ sql: String) -> Bool {
        sql.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") || $0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
}
