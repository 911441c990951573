import Foundation

/// The settings a `postgres://` or `postgresql://` URL gives, by libpq's keyword names, as libpq reads
/// them (https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING): userinfo, one host
/// (a name, `[v6]`, or a percent-encoded socket folder), port, database, and query options.
struct PostgresURL {
    /// The query options vmdb accepts: libpq's that PostgresNIO can honour, and the pool's.
    static let queryOptions: Set<String> = [
        "host", "port", "dbname", "user", "password", "service", "sslmode", "sslrootcert", "application_name",
        "connect_timeout", "pool_max", "pool_min",
    ]

    /// The URL with its password masked, for every message that names it.
    let masked: String
    /// libpq keyword → value, percent-decoded; only what the URL says.
    var settings: [String: String] = [:]

    init(_ text: String) throws {
        masked = Self.masked(text)
        guard let schemeEnd = text.range(of: "://"),
            ["postgres", "postgresql"].contains(String(text[..<schemeEnd.lowerBound]))
        else { throw PostgresLocationError.notAPostgresURL(url: masked) }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        // The last '@' ends the userinfo, so a password with an unescaped '@' or '/' still parses (and is
        // masked the same way, below).
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                settings["password"] = try decode(userinfo[userinfo.index(after: colon)...], "the password")
                if colon > userinfo.startIndex { settings["user"] = try decode(userinfo[..<colon], "the user name") }
            } else if !userinfo.isEmpty {
                settings["user"] = try decode(userinfo, "the user name")
            }
        }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty { settings["dbname"] = try decode(path, "the database name") }
        }
        try parseHostAndPort(authority)
        if let query { try parseQuery(query) }
    }

    private mutating func parseHostAndPort(_ authority: Substring) throws {
        guard !authority.contains(",") else {
            throw PostgresLocationError.malformed(url: masked, problem: "several hosts are not supported; name one")
        }
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw PostgresLocationError.malformed(url: masked, problem: "the IPv6 address has no closing ']'")
            }
            let host = authority[authority.index(after: authority.startIndex)..<close]
            if !host.isEmpty { settings["host"] = String(host) }
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
            else if !after.isEmpty {
                throw PostgresLocationError.malformed(url: masked, problem: "unexpected '\(after)' after the IPv6 address")
            }
        } else {
            var host = authority
            if let colon = authority.lastIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            }
            if !host.isEmpty { settings["host"] = try decode(host, "the host") }
        }
        if let port, !port.isEmpty { settings["port"] = String(port) }
    }

    private mutating func parseQuery(_ query: Substring) throws {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = pair.firstIndex(of: "=") else {
                throw PostgresLocationError.malformed(url: masked, problem: "the option '\(pair)' has no '=value'")
            }
            let key = try decode(pair[..<equals], "an option's name")
            guard Self.queryOptions.contains(key) else {
                throw PostgresLocationError.unknownOption(url: masked, option: key)
            }
            settings[key] = try decode(pair[pair.index(after: equals)...], "the option \(key)")
        }
    }

    private func decode(_ part: Substring, _ what: String) throws -> String {
        guard let decoded = String(part).removingPercentEncoding else {
            throw PostgresLocationError.malformed(url: masked, problem: "\(what) has a bad %-escape")
        }
        return decoded
    }

    /// `text` with the userinfo's password and any `password=` option replaced by `***`. Works on text
    /// that does not parse, so an error about a malformed URL never shows its password either.
    static func masked(_ text: String) -> String {
        var result = text
        if let schemeEnd = result.range(of: "://") {
            let afterScheme = result[schemeEnd.upperBound...]
            let beforeQuery = afterScheme[..<(afterScheme.firstIndex(of: "?") ?? afterScheme.endIndex)]
            if let at = beforeQuery.lastIndex(of: "@"), let colon = beforeQuery[..<at].firstIndex(of: ":") {
                result.replaceSubrange(result.index(after: colon)..<at, with: "***")
            }
        }
        if let mark = result.firstIndex(of: "?") {
            let options = result[result.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: false)
                .map { option in option.lowercased().hasPrefix("password=") ? "password=***" : String(option) }
            result = String(result[...mark]) + options.joined(separator: "&")
        }
        return result
    }
}
