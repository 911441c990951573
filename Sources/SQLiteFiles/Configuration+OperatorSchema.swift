import CSQLiteSettings
import GRDB

extension Configuration {
    /// Lets CREATE statements take double-quoted strings where no column has that name
    /// (`CHECK (tier <> "none")`), as SQLite's default build does (SQLITE_DBCONFIG_DQS_DDL),
    /// so an operator's table, index, trigger or view that the deployer's SQLite accepted
    /// is accepted again when vmdb rebuilds or replays it. GRDB turns that off on every
    /// connection, and the rebuild failed half way ("no such column: none"). Queries
    /// (DQS_DML) stay strict: a misspelt column in vmdb's own SQL is still an error.
    package mutating func acceptOperatorSchemaAsSQLiteDoes() {
        prepareDatabase { db in
            guard vmdb_sqlite_enable_dqs_ddl(db.sqliteConnection, 1) == 1 else {
                throw SQLiteFileError(.unexpectedSQLiteError, "SQLite refused to accept double-quoted strings in CREATE statements (SQLITE_DBCONFIG_DQS_DDL)", path: db.configuration.label ?? "the database")
            }
        }
    }
}
