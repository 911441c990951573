import Foundation

/// PostgreSQL's quoting of an identifier: in double quotes, a double quote doubled.
enum PostgresIdentifier {
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
