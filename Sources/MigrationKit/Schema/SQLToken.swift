/// One token of SQL text, as SQLite's tokenizer cuts it (``SQLTokenizer``).
struct SQLToken: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// A bare word: a keyword or an unquoted name (SQLite tells them apart only in its parser).
        case word
        /// A name in `"…"`, `` `…` `` or `[…]`.
        case quoted
        /// A string literal `'…'` (SQLite also takes one as a name where a name is expected).
        case string
        /// `x'…'`
        case blob
        /// An integer or real literal, hexadecimal too.
        case number
        /// `?`, `?NNN`, `:name`, `@name`, `$name`, `#name`
        case variable
        /// `(`, `)`, `,`, `;`, `.`
        case punctuation
        /// Operators: `=`, `==`, `<>`, `||`, `->>`, `+`, …
        case `operator`
        /// What SQLite's tokenizer calls illegal: an unclosed quote, `!` alone, a control
        /// character, a number run into letters. SQLite refuses a statement holding one.
        case illegal
    }

    let kind: Kind
    /// The token as written, quotes included.
    let text: String
    /// Where it is, in UTF-8 offsets into the statement (SQLite's tokenizer works on bytes).
    let range: Range<Int>

    /// A bare word spelled `keyword`, compared as SQLite compares keywords (ASCII case only).
    func isKeyword(_ keyword: String) -> Bool {
        kind == .word && text.equalsIgnoringASCIICase(keyword)
    }

    func isPunctuation(_ character: String) -> Bool {
        kind == .punctuation && text == character
    }

    /// Whether SQLite's grammar takes this token as a name (`nm`: an identifier, a
    /// quoted name or a string); a keyword is a word too, and only the parser knows.
    var canBeName: Bool { kind == .word || kind == .quoted || kind == .string }

    /// The name this token spells, unquoted as SQLite unquotes names (`sqlite3Dequote`:
    /// a doubled quote stands for one; `[…]` has no escape).
    var name: String { SQLTokenizer.dequoted(text) }
}
