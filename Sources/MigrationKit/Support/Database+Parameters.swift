import GRDB
import GRDBSQLite

/// Named values a migration binds (`:default_network`); absent ones bind NULL.
public typealias MigrationParameters = [String: String]

extension Statement {
    /// The named parameters (`:name`, `@name`, `$name`) this statement uses, without their prefix.
    var parameterNames: [String] {
        let count = sqlite3_bind_parameter_count(sqliteStatement)
        guard count > 0 else { return [] }
        return (1...count).compactMap { index in
            sqlite3_bind_parameter_name(sqliteStatement, index).map { String(cString: $0 + 1) }
        }
    }

    /// Binds exactly the parameters this statement names, NULL where none is
    /// given; `extra` holds the framework's own (such as a chunk's rowid range).
    func bind(_ parameters: MigrationParameters, extra: [String: any DatabaseValueConvertible] = [:]) throws {
        var values: [String: any DatabaseValueConvertible] = [:]
        for name in parameterNames { values[name] = extra[name] ?? parameters[name]?.databaseValue ?? DatabaseValue.null }
        try setArguments(StatementArguments(values))
    }
}

extension Database {
    /// Runs every statement of `sql` in order, each with the parameters it names.
    /// - Parameter log: receives each statement's SQL before it runs (used by `plan`).
    func executeStatements(_ sql: String, parameters: MigrationParameters, log: ((String) -> Void)? = nil) throws {
        let statements = try allStatements(sql: sql)
        while let statement = try statements.next() {
            log?(statement.sql)
            try statement.bind(parameters)
            try statement.execute()
        }
    }

    /// The single integer a `SELECT count(*) …` answers, with its parameters bound.
    func count(_ sql: String, parameters: MigrationParameters = [:]) throws -> Int {
        let statement = try makeStatement(sql: sql)
        try statement.bind(parameters)
        return try Int.fetchOne(statement) ?? 0
    }
}
