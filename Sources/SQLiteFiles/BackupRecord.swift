/// A consistent copy of a database taken with SQLite's online backup API.
public struct BackupRecord: Sendable, Hashable, Codable {
    public let path: String
    public let bytes: Int64
    public let sha256: String
    public let seconds: Double
}
