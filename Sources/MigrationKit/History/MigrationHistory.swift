import Foundation
import GRDB

/// The history table: one row per applied migration, written in the same
/// transaction as the migration itself, so there is no dirty state to repair.
struct MigrationHistory {
    /// The table's name, from the caller's ``MigratorConfiguration``: a plain
    /// identifier (checked there), written unquoted so every database's schema
    /// text stays what earlier versions wrote.
    let tableName: String

    init(_ configuration: MigratorConfiguration) { tableName = configuration.historyTable }

    var createSQL: String { """
        CREATE TABLE IF NOT EXISTS \(tableName) (
            version       INTEGER PRIMARY KEY,
            name          TEXT NOT NULL,
            checksum      TEXT NOT NULL,
            applied_at    TEXT NOT NULL,
            duration_ms   INTEGER NOT NULL,
            lock_ms       INTEGER NOT NULL,
            tool_version  TEXT NOT NULL,
            kind          TEXT NOT NULL CHECK (kind IN ('applied', 'baseline')),
            verification  TEXT,
            backup_sha256 TEXT
        )
        """
    }

    var insertSQL: String { """
        INSERT INTO \(tableName)
            (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind, verification, backup_sha256)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    }

    /// The column for ``AppliedMigration/keepsStoreCompatibleFrom``. Added by the
    /// first migration that declares the promise (`ALTER TABLE … ADD COLUMN`, in that
    /// migration's transaction), never before: the history of every database that
    /// has no such migration keeps the schema text earlier versions wrote. A store
    /// reads it by name; a missing column, or NULL, promises nothing.
    static let compatibilityColumn = "store_compatible_from"

    var addCompatibilityColumnSQL: String {
        "ALTER TABLE \(tableName) ADD COLUMN \(Self.compatibilityColumn) INTEGER CHECK (\(Self.compatibilityColumn) > 0)"
    }

    func exists(_ db: Database) throws -> Bool {
        try db.tableExists(tableName)
    }

    /// Every row, in version order.
    ///
    /// - Parameter toolVersion: this tool's version: a row this tool cannot read
    ///   that a newer version of the tool wrote means the database is newer (4); any other is
    ///   a tampered history (5). Nothing is ever read as something it is not.
    /// - Throws: `MigrationError` `.databaseNewer` or `.historyInconsistent`.
    func read(_ db: Database, toolVersion: String? = nil) throws -> [AppliedMigration] {
        guard try exists(db) else { return [] }
        let decoder = JSONDecoder()
        return try Row.fetchAll(db, sql: "SELECT * FROM \(tableName.quotedIdentifier) ORDER BY version").map { row in
            let version: Int = row["version"]
            let writer: String = row["tool_version"] ?? "an unknown version"
            func unreadable(_ what: String) -> MigrationError {
                if let toolVersion, Self.isVersion(writer, newerThan: toolVersion) {
                    return MigrationError(.newerDatabase, "the history row of migration \(version) was written by version \(writer) of the tool, newer than this one (\(toolVersion)), and \(what). Nothing was changed", version: version)
                }
                return MigrationError(.inconsistentHistory, "the history row of migration \(version) (written by version \(writer) of the tool) \(what): the history table was edited by hand. Nothing was changed", version: version)
            }
            let kindText: String? = row["kind"]
            guard let kindText, let kind = AppliedMigration.Kind(rawValue: kindText) else {
                throw unreadable("has kind \(kindText.map { "'\($0)'" } ?? "NULL"), which this version does not know (applied or baseline)")
            }
            let json: String? = row["verification"]
            var verification: VerificationRecord?
            if let json {
                do {
                    verification = try decoder.decode(VerificationRecord.self, from: Data(json.utf8))
                } catch {
                    throw unreadable("holds a verification record this version cannot read")
                }
            }
            return AppliedMigration(
                version: version, name: row["name"], checksum: row["checksum"],
                appliedAt: row["applied_at"], durationMilliseconds: row["duration_ms"],
                lockMilliseconds: row["lock_ms"], toolVersion: writer,
                kind: kind, verification: verification, backupSHA256: row["backup_sha256"],
                keepsStoreCompatibleFrom: row[Self.compatibilityColumn])
        }
    }

    /// Dotted numeric versions compared part by part (`0.10.0` is newer than `0.9.1`).
    static func isVersion(_ version: String, newerThan other: String) -> Bool {
        func parts(_ text: String) -> [Int] {
            text.split(separator: "-").first.map { $0.split(separator: ".").map { Int($0) ?? 0 } } ?? []
        }
        let (a, b) = (parts(version), parts(other))
        for index in 0..<max(a.count, b.count) {
            let (x, y) = (index < a.count ? a[index] : 0, index < b.count ? b[index] : 0)
            if x != y { return x > y }
        }
        return false
    }

    func record(_ db: Database, _ entry: AppliedMigration, log: ((String) -> Void)?) throws {
        log?(createSQL)
        try db.execute(sql: createSQL)
        let verification = try entry.verification.map { String(decoding: try JSONEncoder.sorted.encode($0), as: UTF8.self) }
        log?(insertSQL)
        try db.execute(sql: insertSQL, arguments: [
            entry.version, entry.name, entry.checksum, entry.appliedAt, entry.durationMilliseconds,
            entry.lockMilliseconds, entry.toolVersion, entry.kind.rawValue, verification, entry.backupSHA256,
        ])
        if let from = entry.keepsStoreCompatibleFrom {
            if try !db.columns(in: tableName).contains(where: { $0.name == Self.compatibilityColumn }) {
                log?(addCompatibilityColumnSQL)
                try db.execute(sql: addCompatibilityColumnSQL)
            }
            let sql = "UPDATE \(tableName) SET \(Self.compatibilityColumn) = ? WHERE version = ?"
            log?(sql)
            try db.execute(sql: sql, arguments: [from, entry.version])
        }
    }
}

extension MigrationHistory {
    /// Replaces the verification record of an applied migration: the online path adds
    /// the figures of the old tables' emptying, which happens after its history row.
    /// - Parameter lockMilliseconds: the longest write lock, when it is known only now (an online run's cut-over).
    func updateVerification(_ db: Database, version: Int, _ verification: VerificationRecord, lockMilliseconds: Int? = nil) throws {
        let json = String(decoding: try JSONEncoder.sorted.encode(verification), as: UTF8.self)
        try db.execute(sql: "UPDATE \(tableName) SET verification = ?, lock_ms = coalesce(?, lock_ms) WHERE version = ?", arguments: [json, lockMilliseconds, version])
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
