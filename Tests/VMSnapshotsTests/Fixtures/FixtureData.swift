import Foundation
import GRDB
import SQLiteFiles
import VMDBTestSupport
@testable import VMSnapshots

/// The rows of the generated snapshots. Everything is deterministic (fixed
/// values or a seeded generator) and every value is a bound parameter.
enum FixtureData {
    /// Inserts one row: `values` maps column names to values (absent columns take their default).
    static func insert(_ db: Database, _ table: String, _ values: KeyValuePairs<String, (any DatabaseValueConvertible)?>) throws {
        let columns = values.map { $0.key.quotedIdentifier }.joined(separator: ", ")
        let marks = Array(repeating: "?", count: values.count).joined(separator: ", ")
        try db.execute(sql: "INSERT INTO \(table.quotedIdentifier) (\(columns)) VALUES (\(marks))",
                       arguments: StatementArguments(values.map { $0.value }))
    }

    static let ubuntu = "https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist"

    // MARK: v1-eight-vms

    static func eightVMs(_ db: Database) throws {
        let vms: [(id: String, name: String, status: String, ipv4: String?, ipv6: String?, mycelium: String?, metadata: String?)] = [
            ("0069", "qa-web", "running", "185.69.166.12/24", nil, "4a3:77f2:1e2b:9c01:5d2e:81aa:2f10:7c3d", #"{"tags":["web"]}"#),
            ("005a", "qa-db", "running", nil, "2a10:b600:1:7a3::12", "4b1:9e0a:33c2:1100:2b7e:aa01:43d9:0e6f", #"{"tags":["db"],"owner":"Alice Martin"}"#),
            ("00b2", "qa-ci-runner", "stopped", nil, nil, nil, nil),
            ("005o", "qa-smoke-1", "running", "185.69.166.40/24", nil, "4d2:0a1b:7c3d:e4f5:6a7b:8c9d:0e1f:2a3b", #"{"tags":["ci"],"owner":"qa-team"}"#),
            ("0071", "qa-load", "error", nil, nil, nil, nil),
            ("0102", "qa-gateway", "running", "10.20.30.40/24", "2a10:b600:2::1", nil, #"{"solution":"gateway"}"#),
            ("0003", "qa-sandbox", "deleted", nil, nil, nil, nil),
            ("01zz", "qa-batch", "running", nil, "2a10:b600:1:8::4", "4e0:1111:2222:3333:4444:5555:6666:7777", #"{"tags":["batch","gpu"]}"#),
        ]
        for (offset, vm) in vms.enumerated() {
            let day = String(format: "2026-%02d-%02d", 1 + offset, 3 + offset)
            try insert(db, "vms", [
                "vm_id": vm.id, "name": vm.name, "node_id": 300 + offset, "contract_id": 52000 + offset * 7, "twin_id": 88,
                "status": vm.status, "ipv4": vm.ipv4, "ipv6": vm.ipv6, "mycelium_ip": vm.mycelium, "flist": ubuntu,
                "cpu": 1 + offset % 4, "memory_mb": 1024 << (offset % 4), "disk_gb": 10 * (1 + offset),
                "installed_version": offset % 3 == 0 ? "1.4.2" : nil, "available_version": offset == 0 ? "1.5.0" : nil,
                "updates_checked_at": offset % 3 == 0 ? "2026-11-20T08:00:00Z" : nil,
                "created_at": "\(day)T10:00:00Z", "updated_at": "\(day)T12:30:00Z", "metadata": vm.metadata,
            ])
            try insert(db, "vm_events", ["vm_id": vm.id, "kind": "created", "at": "\(day)T10:00:00Z", "detail": #"{"by":"twin:88"}"#])
            try insert(db, "vm_events", ["vm_id": vm.id, "kind": vm.status == "deleted" ? "deleted" : "started", "at": "\(day)T10:01:00Z", "detail": nil])
        }
    }

    // MARK: v1-large

    static func large(_ db: Database) throws {
        var random = SeededRandom(seed: 0x766d_6462)   // "vmdb"
        let statuses = ["running", "running", "running", "stopped", "error", "deleted", "provisioning"]
        let words = ["web", "db", "ci", "batch", "cache", "edge", "api", "worker", "gw", "lab"]
        let flists = [ubuntu, "https://hub.grid.tf/tf-official-vms/debian-12.flist", "https://hub.grid.tf/tf-official-apps/base:latest.flist", nil]
        let kinds = ["started", "stopped", "updated", "error", "restarted"]
        var events = 0
        for n in 1...2_000 {
            let id = base36(n * 37 % 46_656 + 1, width: 4)
            let r = random.next()
            let status = statuses[Int(r % 7)]
            let created = "2025-\(String(format: "%02d", 1 + Int(r >> 8 % 12)))-\(String(format: "%02d", 1 + Int(r >> 16 % 28)))T\(String(format: "%02d", Int(r >> 24 % 24))):00:00Z"
            try insert(db, "vms", [
                "id": n, "vm_id": id, "name": "\(words[Int(r >> 32 % 10)])-\(id)", "node_id": 1 + Int(r >> 36 % 5000),
                "contract_id": 100_000 + n, "twin_id": 1 + Int(r >> 40 % 300), "status": status,
                "ipv4": r & 0x10 == 0 ? nil : "185.\(69 + Int(r >> 12 % 3)).\(Int(r >> 20 % 256)).\(Int(r >> 28 % 254) + 1)/24",
                "ipv6": r & 0x20 == 0 ? nil : "2a10:b600:\(String(Int(r >> 44 % 65536), radix: 16))::\(String(n, radix: 16))",
                "mycelium_ip": r & 0x40 == 0 ? nil : "4\(String(format: "%02x", Int(r >> 48 % 256))):\(String(Int(r >> 20 % 65536), radix: 16)):\(String(n, radix: 16))::1",
                "flist": flists[Int(r >> 52 % 4)], "cpu": 1 << Int(r >> 56 % 4), "memory_mb": 512 << Int(r >> 58 % 6),
                "disk_gb": 10 * (1 + Int(r >> 60 % 16)),
                "installed_version": r & 0x80 == 0 ? nil : "1.\(Int(r >> 4 % 6)).\(Int(r >> 6 % 4))",
                "available_version": r & 0x180 == 0x180 ? "1.6.0" : nil,
                "updates_checked_at": r & 0x80 == 0 ? nil : "2026-11-20T08:00:00Z",
                "created_at": created, "updated_at": created,
                "metadata": r & 0x200 == 0 ? nil : #"{"tags":["\#(words[Int(r >> 10 % 10)])"],"n":\#(n)}"#,
            ])
            // 2 or 3 events per VM, 5,000 in all.
            let count = n % 2 == 0 ? 3 : 2
            for e in 0..<count {
                events += 1
                try insert(db, "vm_events", [
                    "id": events, "vm_id": id, "kind": e == 0 ? "created" : kinds[Int(random.next() % 5)],
                    "at": created, "detail": e == 2 ? #"{"node":\#(n % 97)}"# : nil,
                ])
            }
        }
    }

    // MARK: v2-wal-operator

    static func operatorAdditions(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE vms ADD COLUMN owner_email TEXT;
            CREATE INDEX vms_name_lookup ON vms(name);
            CREATE TABLE vm_audit (
                id         INTEGER PRIMARY KEY AUTOINCREMENT,
                vm_row     INTEGER NOT NULL,
                old_status TEXT,
                new_status TEXT,
                at         TEXT NOT NULL
            );
            CREATE TRIGGER vms_status_audit AFTER UPDATE OF status ON vms
            BEGIN
                INSERT INTO vm_audit (vm_row, old_status, new_status, at) VALUES (old.id, old.status, new.status, new.updated_at);
            END;
            CREATE VIEW running_vms AS SELECT network, vm_id, name, ipv4 FROM vms WHERE status = 'running';
            CREATE TABLE vm_backups (
                id         INTEGER PRIMARY KEY,
                vm_row     INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
                taken_at   TEXT NOT NULL,
                size_bytes INTEGER,
                location   TEXT
            );
            CREATE INDEX vm_backups_vm ON vm_backups(vm_row);
            """)
        let networks = ["main", "main", "test", "qa", "dev"]
        for n in 1...24 {
            let id = base36(n * 53, width: 4)
            try insert(db, "vms", [
                "id": n, "vm_id": id, "network": networks[n % 5], "name": "ops-\(networks[n % 5])-\(n)", "node_id": 40 + n,
                "contract_id": 200_000 + n, "twin_id": 7, "status": "provisioning",
                "ipv4": n % 3 == 0 ? "185.69.167.\(n)/24" : nil, "mycelium_ip": "4f\(n % 10):aa01:\(n)::1", "flist": ubuntu,
                "cpu": 2, "memory_mb": 4096, "disk_gb": 50, "created_at": "2026-05-\(String(format: "%02d", n))T09:00:00Z",
                "updated_at": "2026-05-\(String(format: "%02d", n))T09:00:00Z",
                "metadata": #"{"team":"ops","seq":\#(n)}"#, "owner_email": n % 4 == 0 ? nil : "owner\(n)@example.org",
            ])
            try insert(db, "vm_events", ["vm_id": id, "kind": "created", "at": "2026-05-\(String(format: "%02d", n))T09:00:00Z", "detail": nil])
            for b in 0..<(n % 3) {
                try insert(db, "vm_backups", [
                    "vm_row": n, "taken_at": "2026-06-\(String(format: "%02d", 1 + b))T00:00:00Z",
                    "size_bytes": 1_000_000 * (n + b), "location": "s3://backups/\(id)/\(b).tar.zst",
                ])
            }
        }
        // The audit trigger fires as the deployer moves VMs along.
        try db.execute(sql: "UPDATE vms SET status = 'running', updated_at = replace(updated_at, 'T09', 'T10') WHERE id % 4 <> 0")
        try db.execute(sql: "UPDATE vms SET status = 'stopped', updated_at = replace(updated_at, 'T10', 'T18') WHERE id % 6 = 1")
        try db.execute(sql: "ANALYZE")
    }

    // MARK: v2-text-stress

    static let longName = String(repeating: "long-name-Ωμέγα-", count: 640)   // 10,240 characters
    static let stressIds = ["0", "zzzzzz", "a'b", "x\"y", "ü1", "日本", "🚀", "1e5", "%_", "a\\b", "; --", String(repeating: "i", count: 300)]

    static func textStress(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE vms ADD COLUMN "owner's note" TEXT;
            CREATE VIEW "VMs by network" AS SELECT network, count(*) AS "count(*)" FROM vms GROUP BY network;
            """)
        let names = [
            "Robert'); DROP TABLE vms; --", "quote \" double", "back\\slash", "percent % and _ underscore",
            "e\u{301}te\u{301} (decomposed) vs été", "עברית ومرحبا", "👩‍👩‍👧‍👦 family", "中文名字",
            "tab\there\nnewline\rreturn", "nul (a NUL byte follows)", longName, "",
        ]
        let networks = ["main", "qa", "test", "dev"]
        for (offset, id) in stressIds.enumerated() {
            let name = names[offset]
            try insert(db, "vms", [
                "vm_id": id, "network": networks[offset % 4], "name": name, "status": offset % 2 == 0 ? "running" : "stopped",
                "ipv4": offset % 3 == 0 ? "185.69.\(offset).1/24" : nil, "ipv6": offset % 3 == 1 ? "2a10:b600::\(offset)" : nil,
                "flist": offset == 4 ? "https://hub.grid.tf/üser.3bot/it's \"quoted\".flist" : ubuntu,
                "created_at": "2026-02-01T00:00:00Z", "updated_at": "2026-02-01T00:00:00Z",
                "metadata": offset == 10
                    ? #"{"description":"\#(String(repeating: "x\\\"y\\\\z\\n", count: 500))","unicode":"\u00e9\ud83d\ude80"}"#
                    : try jsonObject(["label": String(name.prefix(64))]),
                "owner's note": offset % 2 == 0 ? "it's \"noted\"; DELETE FROM vms WHERE 1=1; --" : nil,
            ])
            try insert(db, "vm_events", [
                "vm_id": id, "kind": "created", "at": "2026-02-01T00:00:00Z",
                "detail": offset % 2 == 0 ? "'); DELETE FROM vm_events; --" : "détail №\(offset) ✓",
            ])
        }
        // GRDB binds strings up to their first NUL, so the NUL is written by SQL.
        try db.execute(sql: "UPDATE vms SET name = name || char(0) || 'inside' WHERE name = ?", arguments: ["nul (a NUL byte follows)"])
    }

    // MARK: v2-nulls

    static func nulls(_ db: Database) throws {
        // Every optional column NULL; network NULL, empty or blank on some rows.
        let networks: [String?] = [nil, "", "   ", "main", nil, "qa"]
        for (offset, network) in networks.enumerated() {
            let id = base36(900 + offset, width: 4)
            try insert(db, "vms", [
                "vm_id": id, "network": network, "name": "bare-\(offset)",
                "created_at": "2026-03-0\(offset + 1)T00:00:00Z", "updated_at": "2026-03-0\(offset + 1)T00:00:00Z",
            ])
            try insert(db, "vm_events", ["vm_id": id, "kind": "created", "at": "2026-03-0\(offset + 1)T00:00:00Z", "detail": nil])
        }
        // Empty strings are not NULLs: both must survive as they were.
        try insert(db, "vms", [
            "vm_id": "0zzz", "network": "main", "name": "", "status": "", "ipv4": "", "ipv6": "", "mycelium_ip": "", "flist": "",
            "installed_version": "", "available_version": "", "updates_checked_at": "", "created_at": "", "updated_at": "", "metadata": "",
        ])
        try insert(db, "vm_events", ["vm_id": "0zzz", "kind": "", "at": "", "detail": ""])
    }

    // MARK: v3-current

    static func current(_ db: Database) throws {
        let vms: [(network: String, id: String, name: String, origin: String)] = [
            ("main", "005o", "main-web", "provision"), ("qa", "005o", "qa-smoke-1", "provision"),
            ("main", "0069", "main-db", "provision"), ("test", "0069", "test-db", "provision"),
            ("dev", "0003", "dev-sandbox", "provision"), ("main", "01zz", "main-orphan", "repair"),
        ]
        for (offset, vm) in vms.enumerated() {
            try insert(db, "vms", [
                "network": vm.network, "vm_id": vm.id, "name": vm.name, "node_id": 10 + offset, "status": "running",
                "mycelium_ip": "4c\(offset):1::\(offset)", "flist": ubuntu, "cpu": 1, "memory_mb": 2048, "disk_gb": 20,
                "created_at": "2026-11-2\(offset)T00:00:00Z", "updated_at": "2026-11-2\(offset)T00:00:00Z", "origin": vm.origin,
                "metadata": offset % 2 == 0 ? #"{"tags":["v3"]}"# : nil,
            ])
            try insert(db, "vm_events", ["network": vm.network, "vm_id": vm.id, "kind": "created", "at": "2026-11-2\(offset)T00:00:00Z", "detail": nil])
        }
        try insert(db, "vm_repairs", [
            "network": "main", "vm_id": "01zz", "action": "recorded", "source": "inventory:main.json",
            "entry": #"{"vm_id":"01zz","name":"main-orphan","mycelium_ip":"4c5:1::5"}"#, "recorded_at": "2026-11-26T00:00:00Z",
        ])
    }

    // MARK: v3-operator

    /// v3 as a deployer ran it for a while: VMs on four networks, events, repairs, and an
    /// operator's view, trigger and table of their own, one of which names `provision`
    /// (so v4's new table and indexes must not collide with anything an operator
    /// plausibly added near that word).
    static func v3Operator(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE provision_log (
                id      INTEGER PRIMARY KEY,
                network TEXT NOT NULL,
                vm_id   TEXT NOT NULL,
                at      TEXT NOT NULL,
                FOREIGN KEY (network, vm_id) REFERENCES vms(network, vm_id) ON DELETE CASCADE
            );
            CREATE INDEX provision_log_vm ON provision_log(network, vm_id);
            CREATE TRIGGER vms_provision_log AFTER INSERT ON vms
            BEGIN
                INSERT INTO provision_log (network, vm_id, at) VALUES (new.network, new.vm_id, new.created_at);
            END;
            CREATE VIEW vms_per_network AS SELECT network, count(*) AS vms FROM vms GROUP BY network;
            """)
        let networks = ["main", "test", "qa", "dev"]
        for n in 1...40 {
            let network = networks[n % 4]
            let id = base36(n * 37 % 97, width: 4)
            let day = String(format: "%02d", 1 + n % 28)
            try insert(db, "vms", [
                "network": network, "vm_id": id, "name": "\(network)-app-\(n)", "node_id": 100 + n % 7,
                "contract_id": 300_000 + n, "twin_id": 11, "status": n % 5 == 0 ? "stopped" : "running",
                "ipv4": n % 4 == 0 ? "185.69.168.\(n)/24" : nil, "mycelium_ip": "4d\(n % 10):bb02:\(n)::1", "flist": ubuntu,
                "cpu": 1 + n % 4, "memory_mb": 1024 * (1 + n % 4), "disk_gb": 25 * (1 + n % 3),
                "created_at": "2026-10-\(day)T08:00:00Z", "updated_at": "2026-10-\(day)T08:30:00Z",
                "metadata": n % 3 == 0 ? #"{"team":"apps"}"# : nil, "origin": n % 10 == 0 ? "repair" : "provision",
            ])
            try insert(db, "vm_events", ["network": network, "vm_id": id, "kind": "created", "at": "2026-10-\(day)T08:00:00Z", "detail": nil])
            if n % 10 == 0 {
                try insert(db, "vm_repairs", [
                    "network": network, "vm_id": id, "action": "recorded_orphan", "source": "daemon unix:///run/compute-\(network).sock",
                    "entry": #"{"vm_id":"\#(id)","name":"\#(network)-app-\#(n)"}"#, "recorded_at": "2026-10-\(day)T09:00:00Z",
                ])
            }
        }
    }

    /// A JSON object with sorted keys, escaped as JSONEncoder escapes.
    static func jsonObject(_ values: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(values), as: UTF8.self)
    }

    /// `value` in base 36, left-padded with zeros to `width` (the daemons' id shape).
    static func base36(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 36)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
