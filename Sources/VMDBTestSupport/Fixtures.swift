import Foundation
import GRDB
import MigrationKit
import SQLiteFiles
import ShippedMigrations

/// Databases for tests, made by the shipped migrations (as `vmdb init` makes them).
public enum Fixtures {
    public static let toolVersion = "test"

    public static var migrator: Migrator { ShippedMigrations.migrator(toolVersion: toolVersion) }

    /// The repository's root folder (for `snapshots/` and `migrations/`).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A new database at `version` in `directory`, managed (with history).
    @discardableResult
    public static func database(version: Int, in directory: TemporaryDirectory, name: String = "deployer.db") throws -> String {
        let path = directory.file(name)
        try migrator.createDatabase(path: path, version: version)
        return path
    }

    /// A database at `version` made before vmdb existed: the same schema, no history table.
    @discardableResult
    public static func unmanagedDatabase(version: Int, in directory: TemporaryDirectory, name: String = "deployer.db") throws -> String {
        let path = try database(version: version, in: directory, name: name)
        try DatabaseQueue(path: path).write { try $0.execute(sql: "DROP TABLE vmdb_migrations") }
        return path
    }

    /// Loads an SQL dump (as `sqlite3 .dump` writes it) into a new database at `path`.
    public static func load(dump: String, to path: String, walMode: Bool = true) throws {
        try DumpLoader.load(dump, intoNewFile: path, journalMode: walMode ? .wal : .delete)
    }

    /// The eight VMs of the v1 case: one network's worth, each with two events.
    public static let eightVMIds = ["0069", "005a", "00b2", "005o", "0071", "0102", "0003", "01zz"]

    /// Inserts VMs with `ids` (and two events each) into a v1 database.
    public static func insertV1(_ ids: [String], into path: String) throws {
        try DatabaseQueue(path: path).write { db in
            for (offset, id) in ids.enumerated() {
                try db.execute(sql: """
                    INSERT INTO vms (vm_id, name, node_id, contract_id, twin_id, status, ipv4, flist, cpu, memory_mb, disk_gb,
                                     created_at, updated_at, metadata)
                    VALUES (?, ?, ?, ?, ?, 'running', ?, 'https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist', 2, 4096, 50,
                            '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', ?)
                    """, arguments: [id, "vm-\(id)", 10 + offset, 1000 + offset, 42, offset % 2 == 0 ? "185.69.166.\(offset)/24" : nil,
                                     offset % 3 == 0 ? nil : "{\"n\":\(offset)}"])
                try db.execute(sql: "INSERT INTO vm_events (vm_id, kind, at) VALUES (?, 'created', '2026-01-01T00:00:00Z'), (?, 'started', '2026-01-01T00:01:00Z')",
                               arguments: [id, id])
            }
        }
    }

    /// Inserts VMs as (network, vm_id) pairs (and one event each) into a v2 database.
    public static func insertV2(_ vms: [(network: String?, id: String)], into path: String) throws {
        try DatabaseQueue(path: path).write { db in
            for (offset, vm) in vms.enumerated() {
                try db.execute(sql: """
                    INSERT INTO vms (vm_id, network, name, status, cpu, created_at, updated_at)
                    VALUES (?, ?, ?, 'running', ?, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')
                    """, arguments: [vm.id, vm.network, "vm-\(vm.id)", offset])
                try db.execute(sql: "INSERT INTO vm_events (vm_id, kind, at) VALUES (?, 'created', '2026-01-01T00:00:00Z')", arguments: [vm.id])
            }
        }
    }

    /// SHA-256 of a file's bytes: "byte for byte as it was" in a test.
    public static func fileHash(_ path: String) throws -> String {
        try BackupService.sha256(ofFile: path)
    }
}
