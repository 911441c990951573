@testable import MigrationKit
import VMDBTestSupport

/// CREATE TABLE statements of every form SQLite's grammar has for a column (parse.y
/// `ccons`, `tcons`, `typetoken`, `table_option`), with names quoted every way and
/// not at all (non-ASCII, keywords SQLite takes as names), and comments and odd white
/// space between any two tokens. Many are valid; some are not (SQLite decides, and
/// the differential test skips what it refuses).
struct CreateTableGenerator {
    var random: SeededRandom

    struct Statement {
        let sql: String
        /// The table's name as SQLite records it.
        let table: String
    }

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    // MARK: Names

    static let bareNames = ["a", "b_1", "Col", "x$", "_u", "data", "vm_id", "network", "quota", "c9"]
    /// Keywords SQLite's parser falls back to as names (parse.y `%fallback ID`, and JOIN_KW).
    static let keywordNames = [
        "key", "action", "generated", "always", "desc", "asc", "replace", "match", "first", "last", "view", "temp",
        "virtual", "without", "rowid", "strict", "stored", "left", "cross", "natural", "abort", "plan", "query",
        "offset", "do", "nulls", "range", "rows", "if", "materialized", "window", "over", "filter", "cast",
    ]
    /// Every byte from 0x80 up is a name character to SQLite's tokenizer.
    static let nonASCIINames = [
        "größe", "kosten_€", "x·y", "名前", "🚀", "a\u{A0}b", "é", "ñ$1", "a\u{FEFF}b", "Ä", "ä", "ǅ", "e\u{301}", "\u{2028}z",
        "\u{85}n",
    ]
    static let quotedNames = [
        "\"a b\"", "\"order\"", "\"we\"\"ird\"", "[select]", "`back``tick`", "'str name'", "\"check\"", "\"primary\"",
        "\"constraint\"", "\"x.y\"", "\"(\"", "\",\"", "\"--\"", "\"/*\"", "[x y]", "`naïve`", "\" lead\"", "'it''s'",
        "[a\"b]", "\"\u{301}\"", "\"\"\"\"", "\"a]\"", "[`]",
    ]

    /// A name as written, and as SQLite records it.
    mutating func name(avoiding used: inout Set<String>) -> (written: String, name: String) {
        for _ in 0..<20 {
            let written: String
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<3: written = random.pick(Self.bareNames)
            case 3..<5: written = random.pick(Self.keywordNames)
            case 5..<7: written = random.pick(Self.nonASCIINames)
            default: written = random.pick(Self.quotedNames)
            }
            let name = Self.recorded(written)
            if used.insert(name.asciiFolded).inserted { return (written, name) }
        }
        let name = "c\(used.count)"
        used.insert(name)
        return (name, name)
    }

    /// What SQLite makes of a written name: unquoted, a doubled quote as one.
    static func recorded(_ written: String) -> String {
        guard let first = written.first, "\"'`[".contains(first) else { return written }
        let close: Character = first == "[" ? "]" : first
        let inner = String(written.dropFirst().dropLast())
        return close == "]" ? inner : inner.replacingOccurrences(of: "\(close)\(close)", with: "\(close)")
    }

    /// A different way to write the same name (for references: SQLite matches names, not spellings).
    mutating func reference(to name: String, written: String) -> String {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        case 1 where !name.contains("]"): "[" + name + "]"
        case 2 where written.first.map { !"\"'`[".contains($0) } ?? false: String(written.map { $0.isASCII ? Character($0.uppercased()) : $0 })
        default: written
        }
    }

    // MARK: Pieces

    static let types = [
        "INTEGER", "int", "TEXT", "VARCHAR(255)", "DECIMAL(10, 2)", "NUMERIC(+5)", "FLOAT(-1, 2.5)", "DOUBLE PRECISION",
        "\"quoted type\"", "'str type'", "[bracket] type", "UNSIGNED BIG INT", "INT /* c, ) */ EGER", "any", "blob", "KEY",
        "GENERATED", "abcdefghijalways", "x generated always", "größe", "\"int\"", "`TEXT`", "Real", "a \"b\"", "long  text",
        "varchar ( 3 )", "BLOB(0x10)", "NUMERIC(1_000)", "\"te\"\"xt\" more", "REFECT MATCH SIMPLE", "no action", "key match",
    ]
    static let strictTypes = ["INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY", "integer", "text", "\"int\"", "'TEXT'"]
    static let defaults = [
        "DEFAULT 0", "DEFAULT -1", "DEFAULT +1.5", "DEFAULT 'a,b)'", "DEFAULT NULL", "DEFAULT x'0A'", "DEFAULT CURRENT_TIMESTAMP",
        "DEFAULT (1 + 2)", "DEFAULT (abs(-3))", "DEFAULT TRUE", "DEFAULT 0x1F", "DEFAULT 1e10", "DEFAULT .5", "DEFAULT 'it''s'",
        "DEFAULT \"dq\"", "DEFAULT (')' || ',')", "DEFAULT - 2", "DEFAULT (CAST(1 AS TEXT))", "DEFAULT 1_000",
    ]
    static let collations = ["COLLATE NOCASE", "COLLATE binary", "COLLATE RTRIM", "COLLATE \"nocase\"", "collate 'NoCase'"]
    static let references = [
        "REFERENCES parent(a)", "REFERENCES parent", "REFERENCES \"p p\"(x, y) ON DELETE CASCADE",
        "REFERENCES parent(a) ON DELETE SET NULL ON UPDATE RESTRICT", "REFERENCES parent(a) MATCH SIMPLE",
        "REFERENCES parent(a) DEFERRABLE INITIALLY DEFERRED", "REFERENCES parent(a) ON UPDATE SET DEFAULT NOT DEFERRABLE",
        "REFERENCES [p](\"a\") ON DELETE NO ACTION",
    ]
    /// A deferral clause stands on its own as a column constraint too (parse.y `ccons ::= defer_subclause`).
    static let deferrals = ["DEFERRABLE INITIALLY DEFERRED", "NOT DEFERRABLE", "DEFERRABLE", "NOT DEFERRABLE INITIALLY IMMEDIATE"]
    static let conflicts = ["", " ON CONFLICT ROLLBACK", " ON CONFLICT ABORT", " ON CONFLICT FAIL", " ON CONFLICT IGNORE", " ON CONFLICT REPLACE"]

    /// Between two tokens: white space of every kind SQLite skips, and comments that
    /// hold what would end a column if it were read (`)`, `,`, quotes).
    mutating func separator() -> String {
        switch Int.random(in: 0..<20, using: &random) {
        case 0: "\n"
        case 1: "\t"
        case 2: "  "
        case 3: "\r\n"
        case 4: " \u{0C}"
        case 5: " /* a, b) 'c' \"d */ "
        case 6: " -- note, ) ' \"\n"
        case 7: " /**/ "
        case 8: " \u{FEFF}"
        case 9: " \u{0B}"
        case 10: "\n\t -- x\n  /* y */\n"
        default: " "
        }
    }

    /// `piece` with white space or a comment between every two of its tokens now and
    /// then (`PRIMARY /* x */ KEY`, `vms . quota`, `GENERATED -- y` newline `ALWAYS`).
    mutating func respaced(_ piece: String) -> String {
        guard random.chance(0.3) else { return piece }
        return join(SQLTokenizer.tokens(piece).map(\.text))
    }

    mutating func join(_ tokens: [String]) -> String {
        var result = ""
        for (index, token) in tokens.enumerated() {
            if index > 0 { result += separator() }
            result += token
        }
        return result
    }

    // MARK: Statements

    struct ColumnPlan {
        let written: String
        let name: String
        var isGenerated = false
    }

    mutating func statement() -> Statement {
        var usedTables: Set<String> = []
        let table = name(avoiding: &usedTables)
        let strict = random.chance(0.2)
        let withoutRowid = random.chance(0.2)
        var used: Set<String> = []
        var columns: [ColumnPlan] = []
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            let column = name(avoiding: &used)
            columns.append(ColumnPlan(written: column.written, name: column.name))
        }
        var hasPrimaryKey = false
        var definitions: [[String]] = []
        for index in columns.indices {
            var tokens = [columns[index].written]
            var type: String?
            if strict || random.chance(0.7) {
                type = strict ? random.pick(Self.strictTypes) : random.pick(Self.types)
                tokens.append(respaced(type!))
            }
            var generated = false
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                var constraint: String
                switch Int.random(in: 0..<11, using: &random) {
                case 0 where !hasPrimaryKey && !generated:
                    hasPrimaryKey = true
                    constraint = "PRIMARY KEY" + random.pick(["", " ASC", " DESC", " asc"]) + random.pick(Self.conflicts)
                    if type?.uppercased() == "INTEGER", !withoutRowid, random.chance(0.5) { constraint += " AUTOINCREMENT" }
                case 1: constraint = "NOT NULL" + random.pick(Self.conflicts)
                case 2: constraint = "NULL"
                case 3: constraint = "UNIQUE" + random.pick(Self.conflicts)
                case 4: constraint = "CHECK (\(check(columns[index], table: table)))"
                case 5 where !generated: constraint = random.pick(Self.defaults)
                case 6: constraint = random.pick(Self.collations)
                case 7: constraint = random.chance(0.8) ? random.pick(Self.references) : random.pick(Self.deferrals)
                case 8...9 where !generated && index > 0:
                    generated = true
                    let expression = random.pick([
                        "(1 + 2)", "('a,b' || ')')", "(\(reference(to: columns[0].name, written: columns[0].written)) || 'x')",
                        "(CAST(\(reference(to: columns[0].name, written: columns[0].written)) AS TEXT))", "(abs(-1) * 2)",
                        "(length('größe'))",
                    ])
                    constraint =
                        random.pick(["GENERATED ALWAYS AS ", "AS ", "generated always as "]) + expression
                        + random.pick(["", " VIRTUAL", " STORED", " stored", " Virtual"])
                default: continue
                }
                if random.chance(0.15) { constraint = "CONSTRAINT \(random.pick(["c1", "\"c 2\"", "key", "[k]"])) " + constraint }
                tokens.append(respaced(constraint))
            }
            columns[index].isGenerated = generated
            definitions.append(tokens)
        }

        // Table constraints, with or without the commas SQLite lets them go without.
        var constraints: [String] = []
        let stored = columns.filter { !$0.isGenerated }
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            let keyColumns = (0..<Int.random(in: 1...2, using: &random)).map { _ in random.pick(stored) }
            let list = Array(Set(keyColumns.map(\.name))).sorted().compactMap { name in stored.first { $0.name == name } }
                .map { column -> String in
                    var element = reference(to: column.name, written: column.written)
                    if random.chance(0.2) { element = "(\(element))" }
                    if random.chance(0.2) { element += " COLLATE nocase" }
                    if random.chance(0.3) { element += random.pick([" ASC", " DESC"]) }
                    return element
                }.joined(separator: ", ")
            var constraint: String
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !hasPrimaryKey:
                hasPrimaryKey = true
                constraint = "PRIMARY KEY (\(list))" + random.pick(Self.conflicts)
            case 1: constraint = "UNIQUE (\(list))"
            case 2: constraint = "CHECK (\(check(random.pick(columns), table: table)))"
            default: constraint = "FOREIGN KEY (\(reference(to: stored[0].name, written: stored[0].written))) \(random.pick(Self.references))"
            }
            if random.chance(0.15) { constraint = "CONSTRAINT \(random.pick(["t1", "\"t 2\"", "[x]"])) " + constraint }
            constraints.append(respaced(constraint))
        }

        var head = [random.pick(["CREATE TABLE", "create table", "Create  Table"])]
        if random.chance(0.1) { head.append("IF NOT EXISTS") }
        head.append((random.chance(0.1) ? "main." : "") + table.written)
        var body = definitions.map { join($0) }
        for (index, constraint) in constraints.enumerated() {
            if index > 0, random.chance(0.3) { body[body.count - 1] += separator() + constraint } else { body.append(constraint) }
        }
        var options: [String] = []
        if withoutRowid && (hasPrimaryKey || random.chance(0.1)) { options.append(random.pick(["WITHOUT ROWID", "without rowid", "WITHOUT /* x */ ROWID"])) }
        if strict { options.append(random.pick(["STRICT", "strict"])) }
        var sql = join(head) + separator() + "(" + separator()
        sql += body.map { $0 + separator() }.joined(separator: "," + separator())
        sql += ")" + (options.isEmpty ? "" : separator() + options.joined(separator: random.pick([",", " , ", ",\n"])))
        if random.chance(0.1) { sql += random.pick([";", " ; ", "\n-- trailing ) comment", " /* end */"]) }
        return Statement(sql: sql, table: table.name)
    }

    /// A CHECK expression on `column`, naming the table (as written, or another way) half the time.
    mutating func check(_ column: ColumnPlan, table: (written: String, name: String)) -> String {
        var ref = reference(to: column.name, written: column.written)
        switch Int.random(in: 0..<4, using: &random) {
        case 0: ref = reference(to: table.name, written: table.written) + "." + ref
        case 1: ref = "main." + reference(to: table.name, written: table.written) + "." + ref
        default: break
        }
        return random.pick([
            "\(ref) > 0", "\(ref) IS NOT NULL OR 1", "length(\(ref)) < 100", "\(ref) <> ')'", "\(ref) IN (1, 2, 3) OR \(ref) IS NULL OR 1",
            "(\(ref) || ',') <> '('", "\(ref) = \(ref)", "\(ref) IS NULL OR typeof(\(ref)) <> 'x'",
        ])
    }
}

extension String {
    /// Folded as SQLite folds names: ASCII letters only.
    var asciiFolded: String {
        String(decoding: utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
