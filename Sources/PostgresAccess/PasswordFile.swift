import Foundation

/// libpq's password file (`~/.pgpass`, or `PGPASSFILE`): lines `host:port:database:username:password`,
/// each of the first four a value or `*`, with `\:` and `\\` for a literal colon or backslash, `#` for a
/// comment. The first line that matches gives the password. As libpq, a file others may read is ignored,
/// with a warning, since a password in it is no longer private.
struct PasswordFile {
    let path: String

    enum Lookup: Equatable {
        case found(String)
        case notFound
        /// The file was skipped; the reason is for the operator.
        case ignored(warning: String)
    }

    func password(host: String, port: Int, database: String, user: String) -> Lookup {
        var status = stat()
        guard stat(path, &status) == 0 else { return .notFound }   // no file: nothing to say, as libpq
        guard status.st_mode & S_IFMT == S_IFREG else {
            return .ignored(warning: "password file \(path) is not a plain file")
        }
        guard status.st_mode & 0o077 == 0 else {
            return .ignored(warning: "password file \(path) has group or world access; permissions should be u=rw (0600) or less")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return .ignored(warning: "password file \(path) cannot be read as UTF-8 text")
        }
        let wanted = [host, String(port), database, user]
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = Self.fields(of: line)
            guard fields.count == 5 else { continue }   // libpq skips a line it cannot read
            if zip(fields.prefix(4), wanted).allSatisfy({ $0.0 == "*" || $0.0 == $0.1 }) { return .found(fields[4]) }
        }
        return .notFound
    }

    /// The line split on unescaped colons, escapes removed; the fifth field (the password) takes the rest
    /// of the line, colons included, as libpq does.
    static func fields(of line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
