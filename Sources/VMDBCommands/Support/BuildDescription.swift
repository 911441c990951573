import BuildInfo
import GRDBSQLite

/// The one line that says which vmdb this is and what it runs on, for `vmdb --version` and
/// `vmdb status`, so that one paste answers a support question.
public struct BuildDescription: Sendable, Encodable, Equatable {
    /// From VERSION at the package root.
    public let version: String
    /// The short commit hash; `-dirty` when built from a modified tree, `unknown` outside a git checkout.
    public let commit: String
    /// `sqlite_version()` of the SQLite library the process linked at run time (the system's).
    public let sqliteVersion: String

    /// This process: the build's version and commit, and the SQLite it has loaded.
    public static let current = BuildDescription(
        version: BuildInfo.version, commit: BuildInfo.commit,
        sqliteVersion: String(cString: sqlite3_libversion()))

    /// `vmdb 0.1.0 (commit 8c52c19, SQLite 3.40.1)`.
    public var line: String { "vmdb \(version) (commit \(commit), SQLite \(sqliteVersion))" }

    private enum CodingKeys: String, CodingKey { case version, commit, sqliteVersion, line }

    /// The three parts, and the line as text prints it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(commit, forKey: .commit)
        try container.encode(sqliteVersion, forKey: .sqliteVersion)
        try container.encode(line, forKey: .line)
    }
}
