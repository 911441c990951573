import Foundation
import GRDB

/// Deployer databases of realistic size for fault tests, made in one SQL
/// transaction (a recursive CTE), so 100,000 VMs and their events take about
/// two seconds instead of a Python generator's minute.
///
/// The rows look like `benchmarks/gen_v2.py`'s: four networks (main 55%, test
/// 25%, qa 12%, dev 8%), globally unique 4-character base-36 ids, about twenty
/// columns (NULLs, JSON, quotes), 1.8 events per VM, plus what real files carry:
/// an `updated_at` trigger, a view, an operator's index and `sqlite_stat1`.
public enum LargeDatabase {
    /// Creates a v2 database at `path` (WAL mode, checkpointed, no `-wal` left) with `vms` VMs;
    /// `managed: false` leaves no history table, as a deployer's file that never saw vmdb.
    public static func makeV2(at path: String, vms: Int, managed: Bool = true) throws {
        try make(at: path, version: 2, vms: vms)
        if !managed { try DatabaseQueue(path: path).write { try $0.execute(sql: "DROP TABLE vmdb_migrations") } }
    }

    /// Creates a managed v3 database at `path`, the same rows keyed on (network, vm_id).
    public static func makeV3(at path: String, vms: Int) throws {
        try make(at: path, version: 3, vms: vms)
    }

    /// The base-36 id of VM number `i` (1-based), as the SQL generates it.
    public static func vmID(_ i: Int) -> String {
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        let x = (i * 7919) % 1_679_616
        return String([digits[x / 46656 % 36], digits[x / 1296 % 36], digits[x / 36 % 36], digits[x % 36]])
    }

    /// The network of VM number `i`, as the SQL assigns it.
    public static func network(_ i: Int) -> String {
        switch i % 100 {
        case ..<55: "main"
        case ..<80: "test"
        case ..<92: "qa"
        default: "dev"
        }
    }

    private static func make(at path: String, version: Int, vms: Int) throws {
        precondition((1...1_679_616).contains(vms), "7919·i mod 36^4 is a bijection only below 36^4")
        try Fixtures.migrator.createDatabase(path: path, version: version)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")  // generation only
            try db.inTransaction {
                try db.execute(sql: insertVMs(version: version), arguments: ["count": vms])
                let network = version >= 3 ? ", network" : ""
                try db.execute(sql: """
                    INSERT INTO vm_events (vm_id, kind, at, detail\(network))
                    SELECT vm_id, 'created', created_at, json_object('by', 'twin:' || twin_id)\(network) FROM vms;
                    INSERT INTO vm_events (vm_id, kind, at, detail\(network))
                    SELECT vm_id, 'started', updated_at, NULL\(network) FROM vms WHERE id % 5 <> 0;
                    CREATE TRIGGER vms_set_updated_at AFTER UPDATE ON vms FOR EACH ROW
                    WHEN NEW.updated_at IS OLD.updated_at
                    BEGIN
                        UPDATE vms SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
                    END;
                    CREATE VIEW vms_active AS
                        SELECT id, vm_id, network, name, status FROM vms WHERE status IN ('running', 'starting');
                    CREATE INDEX vms_twin ON vms(twin_id);
                    """)
                return .commit
            }
            try db.execute(sql: "ANALYZE")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        try queue.close()
    }

    private static func insertVMs(version: Int) -> String {
        let digits = "'0123456789abcdefghijklmnopqrstuvwxyz'"
        let origin = version >= 3 ? ", origin" : ""
        let originValue = version >= 3 ? ", 'provision'" : ""
        return """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count),
            k(i, x) AS (SELECT i, (i * 7919) % 1679616 FROM n)
            INSERT INTO vms (id, vm_id, network, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                             cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at,
                             created_at, updated_at, metadata\(origin))
            SELECT i,
              substr(\(digits), x / 46656 % 36 + 1, 1) || substr(\(digits), x / 1296 % 36 + 1, 1) ||
              substr(\(digits), x / 36 % 36 + 1, 1) || substr(\(digits), x % 36 + 1, 1),
              CASE WHEN i % 100 < 55 THEN 'main' WHEN i % 100 < 80 THEN 'test' WHEN i % 100 < 92 THEN 'qa' ELSE 'dev' END,
              'vm-' || i || CASE WHEN i % 97 = 0 THEN ' it''s "quoted"; --' ELSE '' END,
              1 + i % 6000, 100000 + i * 3, 1 + i % 40000,
              CASE WHEN i % 50 < 34 THEN 'running' WHEN i % 50 < 41 THEN 'stopped' WHEN i % 50 < 47 THEN 'deleted'
                   WHEN i % 50 < 49 THEN 'error' ELSE 'starting' END,
              CASE WHEN i % 3 = 0 THEN '185.' || (i % 256) || '.' || (i / 256 % 256) || '.' || (1 + i % 254) || '/24' END,
              CASE WHEN i % 10 < 7 THEN printf('2a10:b600:1:%x:%x::%x', i % 65536, i / 65536, i * 31 % 65536) END,
              printf('4%02x:%x:%x::%x', i % 256, i % 65536, i * 7 % 65536, i * 13 % 65536),
              'https://hub.grid.tf/tf-official-vms/ubuntu-' || (22 + i % 3) || '.04.flist',
              1 << (i % 4), 1024 << (i % 3), 10 + i % 490,
              CASE WHEN i % 3 = 1 THEN '1.4.2' WHEN i % 3 = 2 THEN '1.5.0' END,
              CASE WHEN i % 6 = 2 THEN '1.5.1' END,
              CASE WHEN i % 3 <> 0 THEN strftime('%Y-%m-%dT%H:%M:%SZ', 1672531200 + i * 900 + 86400, 'unixepoch') END,
              strftime('%Y-%m-%dT%H:%M:%SZ', 1672531200 + i * 900, 'unixepoch'),
              strftime('%Y-%m-%dT%H:%M:%SZ', 1672531200 + i * 900 + i % 7776000, 'unixepoch'),
              json_object('tags', json_array('web', CASE WHEN i % 2 = 0 THEN 'db' END),
                          'ssh_key_fp', 'SHA256:' || (i * 2654435761 % 4294967296), 'deploy_rev', i)\(originValue)
            FROM k
            """
    }
}
