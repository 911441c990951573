import GRDB
import SQLiteFiles

extension ContentHasher {
    /// A census hash whose expressions and filter may name the migration's parameters
    /// (`:default_network`) and the framework's own (`filterArguments`, such as a chunk's rowids).
    static func hash(
        _ db: Database, table: String, expressions: [String], parameters: MigrationParameters,
        filter: String? = nil, filterArguments: [String: any DatabaseValueConvertible] = [:],
        progress: ((Int) -> Void)? = nil
    ) throws -> Result {
        try hash(
            db, table: table, expressions: expressions, filter: filter,
            bind: { try $0.bind(parameters, extra: filterArguments) }, progress: progress)
    }
}
