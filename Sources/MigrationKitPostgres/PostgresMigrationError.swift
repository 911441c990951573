/// What the PostgreSQL side finds before a statement reaches the server.
enum PostgresMigrationError: Error, Equatable {
    /// A `:name` in the SQL with no value given.
    case missingParameter(String)
}
