import Foundation
import MigrationKit

/// One block of a migration, as the online executor runs it (docs/POSTGRESQL-DESIGN.md):
/// a plain step in one short transaction under `lock_timeout`; an index built `CONCURRENTLY`;
/// a constraint added `NOT VALID`, then validated; a backfill in batches of keys.
struct PostgresOnlineStep {
    enum Kind {
        case plain
        case concurrently(index: String)
        case notValid(table: String, constraint: String)
        case backfill(table: String, key: String, batch: Int)
    }

    /// 1-based, in file order: what the progress table records.
    let number: Int
    let kind: Kind
    let statements: [PostgresScript.Statement]

    /// What a backfill binds offline: every key at once.
    static let everyKey: MigrationParameters = ["batch_first": String(Int64.min), "batch_last": String(Int64.max)]

    var kindName: String {
        switch kind {
        case .plain: "plain"
        case .concurrently: "concurrently"
        case .notValid: "not-valid"
        case .backfill: "backfill"
        }
    }

    var object: String {
        switch kind {
        case .plain: "statements"
        case .concurrently(let index): index
        case .notValid(let table, let constraint): "\(table).\(constraint)"
        case .backfill(let table, _, _): table
        }
    }

    /// The script's steps, each directive's statement checked for the one form it takes,
    /// before anything runs (a malformed migration changes nothing).
    static func steps(of script: MigrationScript) throws -> [PostgresOnlineStep] {
        let definition = script.definition
        return try definition.stepsBefore.enumerated().map { index, block in
            let statements = PostgresScript(block).statements
            func malformed(_ why: String) -> MigrationError {
                MigrationError(.malformedMigration, "migration \(script.version) (\(script.fileName)), step \(index + 1): \(why)", version: script.version)
            }
            guard let directive = definition.onlineDirectives[index] else {
                return PostgresOnlineStep(number: index + 1, kind: .plain, statements: statements)
            }
            guard statements.count == 1, let statement = statements.first else {
                throw malformed("a directive's block is one statement, and this one has \(statements.count)")
            }
            let sql = Self.withoutComments(statement.sql)
            switch directive {
            case .concurrently:
                guard let match = sql.firstMatch(of: /(?i)^CREATE\s+(?:UNIQUE\s+)?INDEX\s+([a-z_][a-z0-9_]*)\s+ON\s/) else {
                    throw malformed("`concurrently` takes one `CREATE [UNIQUE] INDEX name ON …` (a plain lower-case name)")
                }
                return PostgresOnlineStep(number: index + 1, kind: .concurrently(index: String(match.1)), statements: [statement])
            case .notValid:
                guard let match = sql.firstMatch(of: /(?i)^ALTER\s+TABLE\s+([a-z_][a-z0-9_]*)\s+ADD\s+CONSTRAINT\s+([a-z_][a-z0-9_]*)\s+(?:CHECK|FOREIGN\s+KEY)\b/),
                      !sql.uppercased().contains("NOT VALID") else {
                    throw malformed("`not-valid` takes one `ALTER TABLE t ADD CONSTRAINT c CHECK|FOREIGN KEY …` without NOT VALID (the executor adds it)")
                }
                return PostgresOnlineStep(number: index + 1, kind: .notValid(table: String(match.1), constraint: String(match.2)), statements: [statement])
            case .backfill(let table, let key, let batch):
                guard sql.uppercased().hasPrefix("UPDATE"), Set(statement.parameters).isSuperset(of: ["batch_first", "batch_last"]) else {
                    throw malformed("`backfill` takes one UPDATE bounded by `\(key) BETWEEN :batch_first AND :batch_last`")
                }
                return PostgresOnlineStep(number: index + 1, kind: .backfill(table: table, key: key, batch: batch), statements: [statement])
            }
        }
    }

    /// The statement as the online executor runs it.
    var onlineStatement: PostgresScript.Statement {
        let statement = statements[0]
        let sql = Self.withoutComments(statement.sql)
        switch kind {
        case .plain:
            return statement
        case .concurrently:
            let index = sql.range(of: "INDEX", options: .caseInsensitive)!
            return .init(sql: sql[..<index.upperBound] + " CONCURRENTLY" + sql[index.upperBound...], parameters: statement.parameters)
        case .notValid:
            return .init(sql: sql + " NOT VALID", parameters: statement.parameters)
        case .backfill:
            // The rows it changed, counted: the report says how many each batch took.
            return .init(sql: "WITH batch AS (\(sql) RETURNING 1) SELECT count(*) FROM batch", parameters: statement.parameters)
        }
    }

    /// The text without its whole-line comments (a block may open with one).
    private static func withoutComments(_ sql: String) -> String {
        sql.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
