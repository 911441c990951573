import Crypto
import Foundation
import GRDB
import MigrationKit
import SQLiteFiles

/// Makes a snapshot from a real database: an online copy, dumped as text
/// (anonymized on request), loaded back and migrated to compute its expected
/// result. The source is opened read-only and never written.
public struct SnapshotCapture: Sendable {
    public struct Options: Sendable {
        /// Replace users' data with stable fakes (see `Anonymizer`).
        public var anonymize = false
        /// The network rows without one belong to (`--default-network`), when the migration needs it.
        public var defaultNetwork: String?
        /// What the snapshot is; a generic sentence when nil.
        public var description: String?
        /// Comment lines at the top of the dump.
        public var header: [String] = []
        /// The anonymization key; a random one when nil (tests pass a fixed one).
        public var anonymizationKey: [UInt8]?

        public init() {}
    }

    /// What was written.
    public struct Report: Sendable, Codable {
        public let dumpPath: String
        public let expectedPath: String
        public let sourceVersion: Int
        public let isManaged: Bool
        public let journalMode: String
        public let anonymized: Bool
        public let dumpBytes: Int
        public let rowsPerTable: [String: Int]
        public let finalVersion: Int
        public let operatorAdditions: [String]
    }

    public let migrator: Migrator

    public init(migrator: Migrator) {
        self.migrator = migrator
    }

    /// Captures the database at `path` into `out`: a new snapshot folder (holding
    /// `dump.sql` and `expected.json`), or a dump file ending in `.sql` with
    /// `expected.json` beside it. Existing files are never overwritten.
    ///
    /// - Throws: ``MigrationError`` alone (a file error in its terms: `noSuchDatabase`, `notADatabase`, …).
    public func capture(database path: String, to out: String, options: Options = Options()) throws -> Report {
        try MigrationError.translatingFileErrors(path: path, doing: "capturing a snapshot") { try captureFile(path, to: out, options: options) }
    }

    private func captureFile(_ path: String, to out: String, options: Options) throws -> Report {
        let (folder, dumpName) = out.hasSuffix(".sql")
            ? ((out as NSString).deletingLastPathComponent, (out as NSString).lastPathComponent)
            : (out, "dump.sql")
        let dumpPath = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(dumpName)
        let expectedPath = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(SnapshotVerifier.expectedFileName)
        for existing in [dumpPath, expectedPath] where FileManager.default.fileExists(atPath: existing) {
            throw MigrationError(.fileExists, "\(existing) already exists: vmdb never overwrites a snapshot. Choose another --out or remove it")
        }

        let source = try DatabaseFile.open(path, access: .readOnly)
        let journalMode = (try source.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } ?? "delete").lowercased()
        let work = try SnapshotFiles.temporaryFolder("capture")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let copyPath = (work as NSString).appendingPathComponent("copy.db")
        _ = try BackupService.copy(source, sourcePath: path, to: copyPath)
        try? source.close()

        let status = try migrator.status(path: copyPath)
        let anonymizer = options.anonymize
            ? Anonymizer(key: options.anonymizationKey.map { SymmetricKey(data: $0) } ?? SymmetricKey(size: .bits256))
            : nil
        let header = options.header.isEmpty
            ? ["Captured by vmdb snapshots capture from a \(SnapshotVerifier.describe(status.currentVersion, status.isManaged)) database"
               + " (\(journalMode) journal)\(anonymizer == nil ? "" : ", anonymized")."]
            : options.header
        let copy = try DatabaseFile.open(copyPath, access: .readOnly)
        var dumper = SQLDumper()
        if let anonymizer { dumper.transform = { anonymizer.value(table: $0, column: $1, $2) } }
        let dump = try copy.read { try dumper.dump($0, header: header) }
        let copyCensus = try copy.read { try Self.census($0) }
        try? copy.close()

        // The dump must be the database: loaded back, the same rows (and, unless
        // anonymized, the same content). A difference is a bug in the dumper.
        let loadedPath = (work as NSString).appendingPathComponent("loaded.db")
        try SnapshotFiles.load(dump: dump, to: loadedPath, journalMode: journalMode)
        let loaded = try DatabaseFile.open(loadedPath, access: .readOnly)
        let loadedCensus = try loaded.read { try Self.census($0) }
        try? loaded.close()
        for (table, expected) in copyCensus {
            let found = loadedCensus[table]
            if found?.rows != expected.rows || (anonymizer == nil && found?.hash != expected.hash) {
                throw MigrationError(.unexpectedFailure, "the dump of table \(table) does not read back as the database (\(expected.rows) rows, \(found?.rows ?? 0) read back). This is a bug in vmdb snapshots capture: report it")
            }
        }

        let metadata = SnapshotMetadata(
            description: options.description ?? "Captured from a \(SnapshotVerifier.describe(status.currentVersion, status.isManaged)) database\(anonymizer == nil ? "" : ", anonymized").",
            dump: dumpName, sourceVersion: status.currentVersion, isManaged: status.isManaged,
            journalMode: journalMode == "wal" ? "wal" : "delete", defaultNetwork: options.defaultNetwork)
        let outcome = try SnapshotVerifier(migrator: migrator).migrate(dump: dump, metadata: metadata)
        guard outcome.problems.isEmpty else {
            throw MigrationError(.failedVerification, "the captured database migrates, but not cleanly: " + outcome.problems.joined(separator: "; "))
        }
        let expectation = SnapshotExpectation(metadata: metadata, result: outcome.result)

        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) { try SnapshotFiles.createNewFolder(folder) }
        try SnapshotFiles.writeNew(dump, to: dumpPath)
        do {
            try SnapshotFiles.writeNew(try Self.json(expectation), to: expectedPath)
        } catch {
            try? FileManager.default.removeItem(atPath: dumpPath)
            throw error
        }
        return Report(
            dumpPath: dumpPath, expectedPath: expectedPath, sourceVersion: status.currentVersion, isManaged: status.isManaged,
            journalMode: metadata.journalMode, anonymized: anonymizer != nil, dumpBytes: dump.utf8.count,
            rowsPerTable: outcome.result.tables.mapValues(\.rows), finalVersion: outcome.result.version,
            operatorAdditions: outcome.result.operatorAdditions)
    }

    /// `expected.json` as written: sorted keys, two-space indent, a final newline.
    static func json(_ expectation: SnapshotExpectation) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(expectation), as: UTF8.self) + "\n"
    }

    /// Rows and content hash of every user table (vmdb's history included).
    private static func census(_ db: Database) throws -> [String: (rows: Int, hash: String)] {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'")
        var out: [String: (rows: Int, hash: String)] = [:]
        for table in tables {
            let content = try ContentHasher.hashAllColumns(db, table: table)
            out[table] = (content.rows, content.hash)
        }
        return out
    }
}
