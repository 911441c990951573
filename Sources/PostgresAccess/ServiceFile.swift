import Foundation

/// libpq's connection service file (`pg_service.conf`): sections `[name]` of `keyword=value` lines,
/// `#` for comments. A service's settings fill in what the URL leaves out, before the environment does.
struct ServiceFile {
    let path: String

    /// The service's settings, or nil when this file has no such section (or no file is there).
    func settings(of service: String) throws -> [String: String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var inService = false
        var found: [String: String]?
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw PostgresLocationError.badServiceFile(path: path, line: index + 1, problem: "a section name has no closing ']'")
                }
                if inService { break }   // the next section: the service is complete
                inService = line.dropFirst().dropLast() == service
                if inService { found = [:] }
                continue
            }
            guard inService else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw PostgresLocationError.badServiceFile(path: path, line: index + 1, problem: "expected keyword=value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard PostgresURL.queryOptions.contains(key), key != "service" else {
                throw PostgresLocationError.badServiceFile(
                    path: path, line: index + 1, problem: "unknown keyword '\(key)' in service '\(service)'")
            }
            found?[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return found
    }
}
