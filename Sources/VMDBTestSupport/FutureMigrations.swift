import Foundation
import MigrationKit
import ShippedMigrations
import GRDB

/// The version after the last shipped one, not shipped: the shipped catalog plus one
/// test migration, for the store's forward compatibility. Never embedded in the tool.
public enum FutureMigrations {
    /// The last shipped version (the store's own).
    public static let latestShipped = ShippedMigrations.catalog.scripts.last?.version ?? 0
    /// The first version no build ships yet.
    public static var next: Int { latestShipped + 1 }

    /// `NNNN_name.sql` for a test migration at `version` (by default ``next``).
    public static func fileName(_ name: String, version: Int = next) -> String {
        String(format: "%04d_%@.sql", version, name)
    }

    /// An expand step: a new nullable column and a new table. It keeps a store of the
    /// latest shipped version (or `version`) working, and says so when `declaresCompatibility`.
    public static func additiveNext(declaresCompatibility: Bool = true, from version: Int = latestShipped) -> String {
        (declaresCompatibility ? "--! keeps-store-compatible-from: \(version)\n" : "") + """
            -- next version (test only): where a VM runs, and the regions known.
            --! step
            ALTER TABLE vms ADD COLUMN region TEXT;
            CREATE TABLE vm_regions (name TEXT PRIMARY KEY NOT NULL, label TEXT);
            """
    }

    /// A contract step no store survives: a column it reads is dropped.
    public static let breakingNext = """
        -- next version (test only): metadata moves out of vms.
        --! drops column vms.metadata
        --! step
        ALTER TABLE vms DROP COLUMN metadata;
        """

    /// The version after an additive ``next``, declaring compatibility from `version`.
    public static func additiveAfterNext(from version: Int?) -> String {
        (version.map { "--! keeps-store-compatible-from: \($0)\n" } ?? "") + """
            --! step
            CREATE INDEX vms_region ON vms (region);
            """
    }

    /// vmdb's migrator (its history table and names) over the shipped migrations and `later`.
    public static func migrator(_ later: [(name: String, text: String)]) throws -> Migrator {
        let shipped = ShippedMigrations.catalog.scripts.map { (name: $0.fileName, text: $0.text) }
        return Migrator(catalog: try MigrationCatalog(files: shipped + later), toolVersion: Fixtures.toolVersion,
                        configuration: ShippedMigrations.configuration)
    }

    /// A v3 database with a VM on each of two networks (main/005o, qa/005o), migrated through
    /// the shipped migrations to the last of `later`.
    @discardableResult
    public static func database(migratedTo later: [(name: String, text: String)], in directory: TemporaryDirectory,
                                name: String = "deployer.db") throws -> String {
        let path = try Fixtures.database(version: 3, in: directory, name: name)
        try Fixtures.insertV3Pair(into: path)
        var options = MigrationOptions()
        options.takesBackup = false
        _ = try migrator(later).migrate(path: path, options: options)
        return path
    }
}

extension Fixtures {
    /// main/005o and qa/005o, inserted into a v3 database with plain SQL.
    public static func insertV3Pair(into path: String) throws {
        try GRDB.DatabaseQueue(path: path).write { db in
            for network in ["main", "qa"] {
                try db.execute(sql: """
                    INSERT INTO vms (network, vm_id, name, status, created_at, updated_at)
                    VALUES (?, '005o', ?, 'running', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
                    """, arguments: [network, "\(network)-web"])
            }
        }
    }
}
