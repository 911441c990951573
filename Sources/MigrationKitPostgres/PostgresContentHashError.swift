/// Why a PostgreSQL table could not be hashed; each names the table and column and says what to do.
public enum PostgresContentHashError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A column whose type has no SQLite counterpart to compare with.
    case unsupportedType(table: String, column: String, type: String)
    /// A value in text format where the binary format was asked for.
    case unexpectedFormat(table: String, column: String)
    /// A binary value shorter than its type.
    case malformedValue(table: String, column: String, type: String)

    public var description: String {
        switch self {
        case .unsupportedType(let table, let column, let type):
            "column \(column) of \(table) is of type \(type), which has no SQLite storage class to compare with (bigint, double precision, text and bytea do); cast it in the expression, for example \(column)::text"
        case .unexpectedFormat(let table, let column):
            "column \(column) of \(table) came back in text format where the binary format was asked for; report it"
        case .malformedValue(let table, let column, let type):
            "column \(column) of \(table) (\(type)) came back shorter than its type; report it"
        }
    }
}
