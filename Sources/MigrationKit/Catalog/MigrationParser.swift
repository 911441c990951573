/// Reads the `--!` directives of a migration file.
///
/// Grammar (one directive per line; blocks run until the next directive):
///
///     --! parameter NAME (WHAT THE COUNT COUNTS): SELECT count(*) …   value needed when the count is > 0
///     --! expect TABLE.COLUMN: SQL-EXPRESSION    new value = expression on the old row
///     --! invariant DESCRIPTION: SELECT count(*) …  must count 0 before commit
///     --! probe accepts DESCRIPTION: SQL; …      must all succeed (in a savepoint, rolled back)
///     --! probe rejects DESCRIPTION: SQL; …      all but the last succeed, the last fails a constraint
///     --! drops (table|index|trigger|view|column) NAME   removed on purpose (column: TABLE.COLUMN)
///     --! keeps-store-compatible-from: N         a store built for version N (or later) keeps working
///     --! step                                   block: SQL statements
///     --! recreate TABLE                         block: the new CREATE TABLE statement
///     --! copy TABLE [AS ALIAS]                  block: SELECT filling it (default: same-named columns)
///     --! concurrently                           block: one CREATE [UNIQUE] INDEX (online: CONCURRENTLY)
///     --! not-valid                              block: one ALTER TABLE … ADD CONSTRAINT (online: NOT VALID, then VALIDATE)
///     --! backfill TABLE BY KEY BATCH N           block: one UPDATE bounded by `KEY BETWEEN :batch_first AND :batch_last`
///                                                (online: N keys per transaction; offline: every key at once)
///
/// The last three are steps like `step`, which every executor may run as written in the
/// version's one transaction; PostgreSQL's online executor runs them without holding a
/// strong lock for long (``MigrationDefinition/OnlineDirective``).
///
/// Everything else is SQL or comment. Values are bound parameters (`:name`), never spliced.
///
/// A `probe` line is a check, not a change: it is left out of the checksum
/// (``MigrationScript/checksumText(_:)``), so a probe added to a shipped migration
/// proves the schema every database already has without making its history inconsistent.
///
/// A `keeps-store-compatible-from` line is a promise about the SQL beside it (an
/// expand step: a new nullable column, a new table), which old stores rely on once
/// it is recorded in the history: it is part of the checksum, so a shipped
/// migration cannot gain or change the promise without showing as edited.
enum MigrationParser {
    static func parse(_ text: String, file: String) throws -> MigrationDefinition {
        var definition = MigrationDefinition()
        var block: (kind: String, argument: String, lines: [String])?

        func fail(_ why: String) -> MigrationError {
            MigrationError(.malformedMigration, "migration \(file): \(why)")
        }
        func closeBlock() throws {
            guard let current = block else { return }
            block = nil
            let body = current.lines.joined(separator: "\n").trimmingWhitespace
            guard !body.isEmpty else { throw fail("empty `\(current.kind)` block") }
            switch current.kind {
            case "concurrently", "not-valid", "backfill":
                guard definition.recreations.isEmpty else { throw fail("`\(current.kind)` is for migrations that alter tables in place; this one recreates tables") }
                definition.onlineDirectives[definition.stepsBefore.count] = try onlineDirective(current.kind, current.argument, fail: fail)
                definition.stepsBefore.append(body)
            case "step":
                if definition.recreations.isEmpty { definition.stepsBefore.append(body) }
                else { definition.stepsAfter.append(body) }
            case "recreate":
                guard definition.stepsAfter.isEmpty else { throw fail("all `recreate` blocks must come before the steps that follow them") }
                definition.recreations.append(.init(table: current.argument, createSQL: body))
            case "copy":
                let words = current.argument.split(separator: " ").map(String.init)
                let table = words.first ?? ""
                guard let i = definition.recreations.firstIndex(where: { $0.table == table }) else {
                    throw fail("`copy \(table)` has no `recreate \(table)` before it")
                }
                definition.recreations[i].copySQL = body
                if words.count == 3, words[1].lowercased() == "as" { definition.recreations[i].copyAlias = words[2] }
            default:
                throw fail("unknown block `\(current.kind)`")
            }
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("--!") else {
                block?.lines.append(String(line))
                continue
            }
            try closeBlock()
            let directive = line.dropFirst(3).trimmingWhitespaceSubstring
            let keyword = directive.prefix { !$0.isWhitespace && $0 != ":" }.lowercased()
            let rest = directive.dropFirst(keyword.count).trimmingWhitespaceSubstring
            let (head, body) = splitAtColon(rest)
            switch keyword {
            case "step", "recreate", "copy", "concurrently", "not-valid", "backfill":
                block = (keyword, String(rest), [])
            case "parameter":
                guard let body else { throw fail("`parameter` needs `NAME (DESCRIPTION): SELECT count(*) …`") }
                let name = head.prefix { !$0.isWhitespace && $0 != "(" }
                var description = head.dropFirst(name.count).trimmingWhitespaceSubstring
                if description.hasPrefix("("), description.hasSuffix(")") { description = description.dropFirst().dropLast() }
                definition.parameters.append(.init(name: String(name), description: description.isEmpty ? "row(s) need \(name)" : String(description), neededWhen: body))
            case "expect":
                let parts = head.split(separator: ".")
                guard let body, parts.count == 2 else { throw fail("`expect` needs `TABLE.COLUMN: EXPRESSION`") }
                definition.expectations.append(.init(table: String(parts[0]), column: String(parts[1]), expression: body))
            case "invariant":
                guard let body else { throw fail("`invariant` needs `DESCRIPTION: SELECT count(*) …`") }
                definition.invariants.append(.init(description: head, sql: body))
            case "probe":
                let expectation = head.prefix { !$0.isWhitespace }
                guard let body, let kind = MigrationDefinition.Probe.Expectation(rawValue: String(expectation)) else {
                    throw fail("`probe` needs `accepts|rejects DESCRIPTION: SQL`")
                }
                let description = head.dropFirst(expectation.count).trimmingWhitespaceSubstring
                definition.probes.append(.init(expectation: kind, description: String(description), sql: body))
            case "keeps-store-compatible-from":
                // Like GRDB's `hasBeenSuperseded` seen from the other side: an older
                // client learns from the database, not from its own catalog, that
                // this migration leaves its schema usable (pgroll's expand phase).
                guard rest.hasPrefix(":"), let version = Int(rest.dropFirst().trimmingWhitespaceSubstring), version > 0 else {
                    throw fail("`keeps-store-compatible-from` needs `: VERSION`, the oldest store version that keeps working")
                }
                guard definition.keepsStoreCompatibleFrom == nil else { throw fail("`keeps-store-compatible-from` is declared twice") }
                definition.keepsStoreCompatibleFrom = version
            case "drops":
                let parts = head.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2, ["table", "index", "trigger", "view", "column"].contains(parts[0]) else {
                    throw fail("`drops` needs `table|index|trigger|view|column NAME`")
                }
                definition.drops.append(.init(type: parts[0], name: parts[1]))
            default:
                throw fail("unknown directive `--! \(keyword)`")
            }
        }
        try closeBlock()
        return definition
    }

    /// `concurrently`, `not-valid`, or `backfill TABLE BY KEY BATCH N`.
    private static func onlineDirective(_ kind: String, _ argument: String,
                                        fail: (String) -> MigrationError) throws -> MigrationDefinition.OnlineDirective {
        let words = argument.split(whereSeparator: \.isWhitespace).map(String.init)
        switch kind {
        case "concurrently", "not-valid":
            guard words.isEmpty else { throw fail("`\(kind)` takes no arguments") }
            return kind == "concurrently" ? .concurrently : .notValid
        default:
            guard words.count == 5, words[1].lowercased() == "by", words[3].lowercased() == "batch", let batch = Int(words[4]), batch > 0 else {
                throw fail("`backfill` needs `TABLE BY KEY BATCH N` (N > 0 keys per transaction)")
            }
            return .backfill(table: words[0], key: words[2], batch: batch)
        }
    }

    private static func splitAtColon(_ text: Substring) -> (String, String?) {
        guard let colon = text.firstIndex(of: ":") else { return (String(text), nil) }
        return (String(text[..<colon]).trimmingWhitespace, String(text[text.index(after: colon)...]).trimmingWhitespace)
    }
}

extension String {
    var trimmingWhitespace: String { String(Substring(self).trimmingWhitespaceSubstring) }
}

extension Substring {
    var trimmingWhitespaceSubstring: Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
