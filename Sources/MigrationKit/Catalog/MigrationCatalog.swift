import Crypto
import Foundation

/// The ordered migrations a build of the tool ships: versions 1…N without gaps.
public struct MigrationCatalog: Sendable {
    public let scripts: [MigrationScript]

    /// - Throws: ``MigrationError`` (`internalFailure`) when a file does not parse, or versions repeat or leave a gap.
    public init(files: [(name: String, text: String)]) throws {
        let scripts = try files.map { try MigrationScript(fileName: $0.name, text: $0.text) }
            .sorted { $0.version < $1.version }
        for (offset, script) in scripts.enumerated() where script.version != offset + 1 {
            throw MigrationError(.malformedMigration, "shipped migrations must be numbered 1…N without gaps; \(script.fileName) is out of place")
        }
        self.scripts = scripts
    }

    public var latestVersion: Int { scripts.last?.version ?? 0 }

    public func script(version: Int) -> MigrationScript? {
        scripts.indices.contains(version - 1) ? scripts[version - 1] : nil
    }

    /// The chained SHA-256 of the files, as `migrations/SHA256SUMS` records it:
    /// chain_i = sha256_hex(chain_{i-1} + checksum_i).
    public var chainedChecksums: [String] {
        var chain = ""
        return scripts.map { script in
            chain = SHA256.hexDigest(of: Data((chain + script.checksum).utf8))
            return chain
        }
    }
}
