/// A small SQL lexer: enough to find top-level commas, parentheses and keywords
/// in a CREATE TABLE or SELECT statement without being fooled by quotes or comments.
struct SQLToken: Equatable {
    enum Kind: Equatable { case word, quoted, punctuation, other }
    let kind: Kind
    let text: Substring
    /// Offsets in the original string's `unicodeScalars`-independent UTF-8 view.
    let range: Range<String.Index>
}

enum SQLTokenizer {
    static func tokens(_ sql: String) -> [SQLToken] {
        var result: [SQLToken] = []
        var index = sql.startIndex
        func peek(_ offset: Int = 0) -> Character? {
            var i = index
            for _ in 0..<offset {
                guard i < sql.endIndex else { return nil }
                i = sql.index(after: i)
            }
            return i < sql.endIndex ? sql[i] : nil
        }
        while index < sql.endIndex {
            let c = sql[index]
            let start = index
            if c.isWhitespace {
                index = sql.index(after: index)
            } else if c == "-", peek(1) == "-" {
                while index < sql.endIndex, sql[index] != "\n" { index = sql.index(after: index) }
            } else if c == "/", peek(1) == "*" {
                index = sql.index(index, offsetBy: 2)
                while index < sql.endIndex {
                    if sql[index] == "*", peek(1) == "/" { index = sql.index(index, offsetBy: 2); break }
                    index = sql.index(after: index)
                }
            } else if c == "'" || c == "\"" || c == "`" || c == "[" {
                let close: Character = c == "[" ? "]" : c
                index = sql.index(after: index)
                while index < sql.endIndex {
                    if sql[index] == close {
                        // A doubled quote is an escaped quote inside the literal.
                        if close != "]", peek(1) == close { index = sql.index(index, offsetBy: 2); continue }
                        index = sql.index(after: index)
                        break
                    }
                    index = sql.index(after: index)
                }
                result.append(SQLToken(kind: .quoted, text: sql[start..<index], range: start..<index))
            } else if c.isLetter || c == "_" {
                while index < sql.endIndex, sql[index].isLetter || sql[index].isNumber || sql[index] == "_" || sql[index] == "$" {
                    index = sql.index(after: index)
                }
                result.append(SQLToken(kind: .word, text: sql[start..<index], range: start..<index))
            } else if "(),;.".contains(c) {
                index = sql.index(after: index)
                result.append(SQLToken(kind: .punctuation, text: sql[start..<index], range: start..<index))
            } else {
                index = sql.index(after: index)
                result.append(SQLToken(kind: .other, text: sql[start..<index], range: start..<index))
            }
        }
        return result
    }

    /// The identifier a token names, with SQL quoting removed.
    static func identifier(_ token: SQLToken) -> String {
        guard token.kind == .quoted, let first = token.text.first else { return String(token.text) }
        let close: Character = first == "[" ? "]" : first
        var inner = token.text.dropFirst()
        if inner.last == close { inner = inner.dropLast() }
        return close == "]" ? String(inner) : inner.replacingOccurrences(of: "\(close)\(close)", with: "\(close)")
    }
}

extension String {
    /// This string as a double-quoted SQL identifier.
    var quotedIdentifier: String { "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

extension Substring {
    func equalsIgnoringCase(_ other: String) -> Bool { lowercased() == other.lowercased() }
}
