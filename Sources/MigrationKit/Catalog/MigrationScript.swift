import Crypto
import Foundation
import SQLiteFiles

/// One shipped migration file: `NNNN_name.sql`, immutable once shipped.
public struct MigrationScript: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let fileName: String
    /// The file's text with line endings normalised to LF.
    public let text: String
    /// SHA-256 of `text` without its `--! probe` lines, hex: what the history table records.
    public let checksum: String
    public let definition: MigrationDefinition

    /// - Throws: ``MigrationError`` (`internalFailure`) when the file name is not `NNNN_name.sql` or a directive does not parse; the message names the file and the line.
    public init(fileName: String, text: String) throws {
        let stem = fileName.hasSuffix(".sql") ? String(fileName.dropLast(4)) : fileName
        let parts = stem.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0 else {
            throw MigrationError(.malformedMigration, "migration file \(fileName) must be named NNNN_name.sql")
        }
        self.version = version
        self.name = String(parts[1])
        self.fileName = fileName
        self.text = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        self.checksum = SHA256.hexDigest(of: Data(Self.checksumText(self.text).utf8))
        self.definition = try MigrationParser.parse(self.text, file: fileName)
        if let from = definition.keepsStoreCompatibleFrom, from >= version {
            throw MigrationError(.malformedMigration, "migration \(fileName): `keeps-store-compatible-from: \(from)` must name a version before \(version)")
        }
    }
}

extension MigrationScript {
    /// What the checksum covers: the text less its probe lines, which check the
    /// result and change nothing (scripts/embed-migrations computes the same).
    /// Every other directive counts, `keeps-store-compatible-from` included: it is
    /// a promise older stores act on (see ``MigrationDefinition/keepsStoreCompatibleFrom``).
    public static func checksumText(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("--! probe ") }
            .joined(separator: "\n")
    }
}

extension SHA256 {
    static func hexDigest(of data: Data) -> String {
        SHA256.hash(data: data).hexString
    }
}

