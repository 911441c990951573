import SQLiteFiles

/// SQL cut into tokens by the rules of SQLite's own tokenizer (`sqlite3GetToken` in
/// tokenize.c), so that what vmdb reads out of a statement is what SQLite read:
///
/// - It works on UTF-8 bytes, as SQLite does. Every byte from 0x80 up is an identifier
///   character, so `kosten_€`, `größe·gb`, a name holding a no-break space or an emoji
///   is one unquoted name. (Swift's `Character.isLetter` and `isWhitespace` disagree
///   with SQLite on all of these, and a grapheme cluster can swallow a closing quote.)
/// - A name starts with an ASCII letter, `_` or a byte from 0x80 up, and goes on over
///   letters, digits, `_`, `$` and bytes from 0x80 up. A UTF-8 byte order mark where a
///   token would start is white space.
/// - White space is tab, newline, form feed, carriage return and space (and vertical
///   tab once a run has started); `--` comments run to the end of the line, `/* */`
///   comments to `*/` or the end. Neither is a token.
/// - `"…"` and `` `…` `` are names and `'…'` is a string, each with its quote doubled
///   inside; `[…]` is a name with no escape; `x'…'` is a blob; an unclosed one is illegal
///   to the end.
/// - A number is digits (with `_` separators, as SQLite 3.46 reads them), an optional
///   fraction and exponent, or `0x` and hex digits; letters run into it make it illegal.
/// - Text stops at a NUL byte, where SQLite stops reading.
enum SQLTokenizer {
    static func tokens(_ sql: String) -> [SQLToken] {
        var bytes = Array(sql.utf8)
        if let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
        return tokens(utf8: bytes)
    }

    /// Tokens of UTF-8 text (which must not hold a NUL; see ``tokens(_:)``).
    static func tokens(utf8 z: [UInt8]) -> [SQLToken] {
        var result: [SQLToken] = []
        let n = z.count
        func at(_ i: Int) -> UInt8 { i < n ? z[i] : 0 }
        var i = 0
        while i < n {
            let c = z[i]
            var end = i + 1
            var kind: SQLToken.Kind
            switch c {
            case 0x09, 0x0A, 0x0C, 0x0D, 0x20:
                while isSpace(at(end)) { end += 1 }
                i = end
                continue
            case UInt8(ascii: "-") where at(i + 1) == UInt8(ascii: "-"):
                while end < n, z[end] != UInt8(ascii: "\n") { end += 1 }
                i = end
                continue
            case UInt8(ascii: "/") where at(i + 1) == UInt8(ascii: "*") && i + 2 < n:
                end = i + 2
                while end < n, !(z[end] == UInt8(ascii: "*") && at(end + 1) == UInt8(ascii: "/")) { end += 1 }
                i = min(n, end + 2)
                continue
            case 0xEF where at(i + 1) == 0xBB && at(i + 2) == 0xBF:
                i += 3  // a byte order mark: white space
                continue
            case UInt8(ascii: "-"):
                kind = .operator
                if at(i + 1) == UInt8(ascii: ">") { end = i + 2 + (at(i + 2) == UInt8(ascii: ">") ? 1 : 0) }
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ","), UInt8(ascii: ";"):
                kind = .punctuation
            case UInt8(ascii: ".") where !isDigit(at(i + 1)):
                kind = .punctuation
            case UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "~"):
                kind = .operator
            case UInt8(ascii: "="):
                kind = .operator
                if at(i + 1) == UInt8(ascii: "=") { end += 1 }
            case UInt8(ascii: "<"):
                kind = .operator
                if [UInt8(ascii: "="), UInt8(ascii: ">"), UInt8(ascii: "<")].contains(at(i + 1)) { end += 1 }
            case UInt8(ascii: ">"):
                kind = .operator
                if [UInt8(ascii: "="), UInt8(ascii: ">")].contains(at(i + 1)) { end += 1 }
            case UInt8(ascii: "!"):
                kind = at(i + 1) == UInt8(ascii: "=") ? .operator : .illegal
                if kind == .operator { end += 1 }
            case UInt8(ascii: "|"):
                kind = .operator
                if at(i + 1) == UInt8(ascii: "|") { end += 1 }
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                while end < n {
                    if z[end] == c {
                        if at(end + 1) == c {
                            end += 2
                            continue
                        }
                        break
                    }
                    end += 1
                }
                if end < n {
                    end += 1
                    kind = c == UInt8(ascii: "'") ? .string : .quoted
                } else {
                    kind = .illegal
                }
            case UInt8(ascii: "["):
                while end < n, z[end] != UInt8(ascii: "]") { end += 1 }
                if end < n {
                    end += 1
                    kind = .quoted
                } else {
                    kind = .illegal
                }
            case UInt8(ascii: "?"):
                kind = .variable
                while isDigit(at(end)) { end += 1 }
            case UInt8(ascii: "$"), UInt8(ascii: "@"), UInt8(ascii: "#"), UInt8(ascii: ":"):
                (end, kind) = variable(z, from: i)
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."):
                (end, kind) = number(z, from: i)
            case UInt8(ascii: "x") where at(i + 1) == UInt8(ascii: "'"), UInt8(ascii: "X") where at(i + 1) == UInt8(ascii: "'"):
                kind = .blob
                end = i + 2
                while isHexDigit(at(end)) { end += 1 }
                if at(end) != UInt8(ascii: "'") || (end - i) % 2 != 0 {
                    kind = .illegal
                    while end < n, z[end] != UInt8(ascii: "'") { end += 1 }
                }
                if end < n { end += 1 }
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), 0x80...:
                kind = .word
                while isIdentifierCharacter(at(end)) { end += 1 }
            default:
                kind = .illegal  // control characters, vertical tab first, \ ^ { } DEL
            }
            result.append(SQLToken(kind: kind, text: String(decoding: z[i..<end], as: UTF8.self), range: i..<end))
            i = end
        }
        return result
    }

    /// `$name`, `@name`, `:name`, `#name`, with Tcl's `name(…)` and `a::b` forms.
    private static func variable(_ z: [UInt8], from start: Int) -> (Int, SQLToken.Kind) {
        let n = z.count
        var end = start + 1
        var nameBytes = 0
        var kind = SQLToken.Kind.variable
        while end < n {
            let c = z[end]
            if isIdentifierCharacter(c) {
                nameBytes += 1
                end += 1
            } else if c == UInt8(ascii: "("), nameBytes > 0 {
                repeat { end += 1 } while end < n && !isSpace(z[end]) && z[end] != UInt8(ascii: ")")
                if end < n, z[end] == UInt8(ascii: ")") { end += 1 } else { kind = .illegal }
                break
            } else if c == UInt8(ascii: ":"), end + 1 < n, z[end + 1] == UInt8(ascii: ":") {
                end += 2
            } else {
                break
            }
        }
        return (end, nameBytes == 0 ? .illegal : kind)
    }

    private static func number(_ z: [UInt8], from start: Int) -> (Int, SQLToken.Kind) {
        let n = z.count
        func at(_ i: Int) -> UInt8 { i < n ? z[i] : 0 }
        let separator = UInt8(ascii: "_")
        var end = start
        if z[start] == UInt8(ascii: "0"), at(start + 1) | 0x20 == UInt8(ascii: "x"), isHexDigit(at(start + 2)) {
            end = start + 3
            while isHexDigit(at(end)) || at(end) == separator { end += 1 }
        } else {
            while isDigit(at(end)) || at(end) == separator { end += 1 }
            if at(end) == UInt8(ascii: ".") {
                end += 1
                while isDigit(at(end)) || at(end) == separator { end += 1 }
            }
            if at(end) | 0x20 == UInt8(ascii: "e"),
                isDigit(at(end + 1)) || ((at(end + 1) == UInt8(ascii: "+") || at(end + 1) == UInt8(ascii: "-")) && isDigit(at(end + 2)))
            {
                end += 2
                while isDigit(at(end)) || at(end) == separator { end += 1 }
            }
        }
        var kind = SQLToken.Kind.number
        while isIdentifierCharacter(at(end)) {
            kind = .illegal
            end += 1
        }
        return (end, kind)
    }

    /// SQLite's `sqlite3Isspace`: also vertical tab, which cannot start a token of white space.
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }
    static func isDigit(_ c: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) }
    static func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c | 0x20) }

    /// SQLite's `IdChar`: ASCII letters and digits, `_`, `$`, and every byte from 0x80 up.
    static func isIdentifierCharacter(_ c: UInt8) -> Bool {
        c >= 0x80 || isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c | 0x20)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
    }

    /// `text` without its quotes, as SQLite's `sqlite3Dequote` does it: when it starts
    /// with `"`, `'`, `` ` `` or `[`, what follows up to the closing quote (a doubled
    /// quote is one, `]]` too); anything else as it is.
    static func dequoted(_ text: String) -> String {
        let z = Array(text.utf8)
        guard let first = z.first else { return text }
        let close: UInt8
        switch first {
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"): close = first
        case UInt8(ascii: "["): close = UInt8(ascii: "]")
        default: return text
        }
        var inner: [UInt8] = []
        var i = 1
        while i < z.count {
            if z[i] == close {
                guard i + 1 < z.count, z[i + 1] == close else { break }
                i += 1
            }
            inner.append(z[i])
            i += 1
        }
        return String(decoding: inner, as: UTF8.self)
    }

    /// Whether `name` would be read back as this one name if written bare: it tokenizes as
    /// a single word. (It may still be a keyword; callers that write SQL quote every name.)
    static func isBareWord(_ name: String) -> Bool {
        let tokens = tokens(name)
        return tokens.count == 1 && tokens[0].kind == .word && tokens[0].text == name
    }
}

extension String {
    /// Lowercased as SQLite folds names and keywords: ASCII letters only (`Ä` and `ä`
    /// are two names to SQLite).
    var asciiLowercased: String {
        String(decoding: utf8.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    func equalsIgnoringASCIICase(_ other: String) -> Bool { asciiLowercased == other.asciiLowercased }

    /// The text between UTF-8 offsets `range` (token ranges fall on ASCII bytes or the ends).
    func utf8Text(_ range: Range<Int>) -> String {
        String(decoding: Array(utf8)[range], as: UTF8.self)
    }
}
