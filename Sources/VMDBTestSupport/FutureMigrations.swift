import Foundation
import MigrationKit
import ShippedMigrations
import GRDB

/// A version 4 that is not shipped: the shipped catalog plus one test migration,
/// for the store's forward compatibility. Never embedded in the tool.
public enum FutureMigrations {
    /// An expand step: a new nullable column and a new table. It keeps a v3 store
    /// working, and says so when `declaresCompatibility`.
    public static func additiveV4(declaresCompatibility: Bool = true, from version: Int = 3) -> String {
        (declaresCompatibility ? "--! keeps-store-compatible-from: \(version)\n" : "") + """
            -- v4 (test only): where a VM runs, and the regions known.
            --! step
            ALTER TABLE vms ADD COLUMN region TEXT;
            CREATE TABLE vm_regions (name TEXT PRIMARY KEY NOT NULL, label TEXT);
            """
    }

    /// A contract step a v3 store cannot survive: a column it reads is dropped.
    public static let breakingV4 = """
        -- v4 (test only): metadata moves out of vms.
        --! drops column vms.metadata
        --! step
        ALTER TABLE vms DROP COLUMN metadata;
        """

    /// A v5 after an additive v4, declaring compatibility from `version`.
    public static func additiveV5(from version: Int?) -> String {
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

    /// A v3 database with a VM on each of two networks (main/005o, qa/005o), migrated to the last of `later`.
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
