import Foundation
import GRDB

/// The history table: one row per applied migration, written in the same
/// transaction as the migration itself, so there is no dirty state to repair.
enum MigrationHistory {
    static let tableName = "vmdb_migrations"

    static let createSQL = """
        CREATE TABLE IF NOT EXISTS vmdb_migrations (
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

    static let insertSQL = """
        INSERT INTO vmdb_migrations
            (version, name, checksum, applied_at, duration_ms, lock_ms, tool_version, kind, verification, backup_sha256)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func exists(_ db: Database) throws -> Bool {
        try db.tableExists(tableName)
    }

    static func read(_ db: Database) throws -> [AppliedMigration] {
        guard try exists(db) else { return [] }
        let decoder = JSONDecoder()
        return try Row.fetchAll(db, sql: "SELECT * FROM vmdb_migrations ORDER BY version").map { row in
            let json: String? = row["verification"]
            return AppliedMigration(
                version: row["version"], name: row["name"], checksum: row["checksum"],
                appliedAt: row["applied_at"], durationMilliseconds: row["duration_ms"],
                lockMilliseconds: row["lock_ms"], toolVersion: row["tool_version"],
                kind: AppliedMigration.Kind(rawValue: row["kind"]) ?? .applied,
                verification: json.flatMap { try? decoder.decode(VerificationRecord.self, from: Data($0.utf8)) },
                backupSHA256: row["backup_sha256"])
        }
    }

    static func record(_ db: Database, _ entry: AppliedMigration, log: ((String) -> Void)?) throws {
        log?(createSQL)
        try db.execute(sql: createSQL)
        let verification = try entry.verification.map { String(decoding: try JSONEncoder.sorted.encode($0), as: UTF8.self) }
        log?(insertSQL)
        try db.execute(sql: insertSQL, arguments: [
            entry.version, entry.name, entry.checksum, entry.appliedAt, entry.durationMilliseconds,
            entry.lockMilliseconds, entry.toolVersion, entry.kind.rawValue, verification, entry.backupSHA256,
        ])
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
