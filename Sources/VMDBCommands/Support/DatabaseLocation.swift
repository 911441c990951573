import PostgresAccess

/// Where a command's database is: an SQLite file, or a PostgreSQL database named by a
/// `postgres://` URL (issue 24). The one place a command learns the engine.
enum DatabaseLocation {
    case file(path: String)
    case postgres(PostgresLocation)

    /// What the operator is shown: the path, or the URL with its password masked.
    var description: String {
        switch self {
        case .file(let path): path
        case .postgres(let location): location.description
        }
    }
}
