import Foundation
import GRDB
import MigrationKit
import Testing
import VMDBTestSupport

/// The online state record across versions: a run interrupted by the vmdb before the
/// record had a format (format 1: it renamed the operator's indexes at the prepare) is
/// undone by this one and the migration run again, and a record in a format newer than
/// this vmdb reads is refused, the file untouched, with what to do.
@Suite struct OnlineStateFormatTests {
    /// `sqlite3 .dump` of a v2 file (two VMs, one event) whose `migrate --online` was
    /// killed (SIGKILL) while its cut-over was postponed, as vmdb 0.1.0 at a9d8a9a left it:
    /// the state record exactly as that code wrote it (no `format`, `renamedIndexes`),
    /// the old indexes renamed `vmdb_old_*`, the new tables, the capture triggers.
    static let formatOneDump = #"""
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE vms (
    id                 INTEGER PRIMARY KEY,
    vm_id              TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    node_id            INTEGER,
    contract_id        INTEGER,
    twin_id            INTEGER,
    status             TEXT NOT NULL DEFAULT 'provisioning',
    ipv4               TEXT,
    ipv6               TEXT,
    mycelium_ip        TEXT,
    flist              TEXT,
    cpu                INTEGER,
    memory_mb          INTEGER,
    disk_gb            INTEGER,
    installed_version  TEXT,
    available_version  TEXT,
    updates_checked_at TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    metadata           TEXT
, network TEXT);
INSERT INTO vms VALUES(1,'a1','a',NULL,NULL,NULL,'running',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'c','u',NULL,'main');
INSERT INTO vms VALUES(2,'b2','b',NULL,NULL,NULL,'running',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'c','u',NULL,'main');
CREATE TABLE vm_events (
    id     INTEGER PRIMARY KEY,
    vm_id  TEXT NOT NULL REFERENCES vms(vm_id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    at     TEXT NOT NULL,
    detail TEXT
);
INSERT INTO vm_events VALUES(1,'a1','created','t',NULL);
CREATE TABLE vmdb_migrations (
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
);
INSERT INTO vmdb_migrations VALUES(1,'initial','ca53e7f022df3eaf9959e70899a52763a6900d337bd28995bbca58ac65650de5','2026-12-07T15:20:38.921Z',6,5,'0.1.0','applied','{"carriedColumns":[],"failures":[],"foreignKeyViolations":[],"freePagesAfter":0,"integrity":"ok","invariants":[],"level":"full","lostObjects":[],"restoredObjects":[],"schemaChanges":{"added":[{"after":"CREATE TABLE vms (\n    id                 INTEGER PRIMARY KEY,\n    vm_id              TEXT NOT NULL UNIQUE,\n    name               TEXT NOT NULL,\n    node_id            INTEGER,\n    contract_id        INTEGER,\n    twin_id            INTEGER,\n    status             TEXT NOT NULL DEFAULT ''provisioning'',\n    ipv4               TEXT,\n    ipv6               TEXT,\n    mycelium_ip        TEXT,\n    flist              TEXT,\n    cpu                INTEGER,\n    memory_mb          INTEGER,\n    disk_gb            INTEGER,\n    installed_version  TEXT,\n    available_version  TEXT,\n    updates_checked_at TEXT,\n    created_at         TEXT NOT NULL,\n    updated_at         TEXT NOT NULL,\n    metadata           TEXT\n)","name":"vms","type":"table"},{"after":"CREATE INDEX vms_status ON vms(status)","name":"vms_status","type":"index"},{"after":"CREATE TABLE vm_events (\n    id     INTEGER PRIMARY KEY,\n    vm_id  TEXT NOT NULL REFERENCES vms(vm_id) ON DELETE CASCADE,\n    kind   TEXT NOT NULL,\n    at     TEXT NOT NULL,\n    detail TEXT\n)","name":"vm_events","type":"table"},{"after":"CREATE INDEX vm_events_vm ON vm_events(vm_id)","name":"vm_events_vm","type":"index"}],"changed":[],"removed":[]},"tables":[]}',NULL);
INSERT INTO vmdb_migrations VALUES(2,'network_column','e29ea748164cf66a650a674ff171a82dfc816269ad99df93e064f6003e3360cd','2026-12-07T15:20:38.957Z',4,4,'0.1.0','applied','{"carriedColumns":[],"failures":[],"foreignKeyViolations":[],"freePagesAfter":0,"integrity":"ok","invariants":[],"level":"full","lostObjects":[],"restoredObjects":[],"schemaChanges":{"added":[{"after":"CREATE INDEX vms_network ON vms(network)","name":"vms_network","type":"index"}],"changed":[{"after":"CREATE TABLE vms (\n    id                 INTEGER PRIMARY KEY,\n    vm_id              TEXT NOT NULL UNIQUE,\n    name               TEXT NOT NULL,\n    node_id            INTEGER,\n    contract_id        INTEGER,\n    twin_id            INTEGER,\n    status             TEXT NOT NULL DEFAULT ''provisioning'',\n    ipv4               TEXT,\n    ipv6               TEXT,\n    mycelium_ip        TEXT,\n    flist              TEXT,\n    cpu                INTEGER,\n    memory_mb          INTEGER,\n    disk_gb            INTEGER,\n    installed_version  TEXT,\n    available_version  TEXT,\n    updates_checked_at TEXT,\n    created_at         TEXT NOT NULL,\n    updated_at         TEXT NOT NULL,\n    metadata           TEXT\n, network TEXT)","before":"CREATE TABLE vms (\n    id                 INTEGER PRIMARY KEY,\n    vm_id              TEXT NOT NULL UNIQUE,\n    name               TEXT NOT NULL,\n    node_id            INTEGER,\n    contract_id        INTEGER,\n    twin_id            INTEGER,\n    status             TEXT NOT NULL DEFAULT ''provisioning'',\n    ipv4               TEXT,\n    ipv6               TEXT,\n    mycelium_ip        TEXT,\n    flist              TEXT,\n    cpu                INTEGER,\n    memory_mb          INTEGER,\n    disk_gb            INTEGER,\n    installed_version  TEXT,\n    available_version  TEXT,\n    updates_checked_at TEXT,\n    created_at         TEXT NOT NULL,\n    updated_at         TEXT NOT NULL,\n    metadata           TEXT\n)","name":"vms","type":"table"}],"removed":[]},"tables":[{"columns":["available_version","contract_id","cpu","created_at","disk_gb","flist","id","installed_version","ipv4","ipv6","memory_mb","metadata","mycelium_ip","name","network","node_id","status","twin_id","updated_at","updates_checked_at","vm_id"],"hashAfter":"0000000000000000000000000000000000000000000000000000000000000000","hashBefore":"0000000000000000000000000000000000000000000000000000000000000000","rowsAfter":0,"rowsBefore":0,"table":"vms"},{"columns":["at","detail","id","kind","vm_id"],"hashAfter":"0000000000000000000000000000000000000000000000000000000000000000","hashBefore":"0000000000000000000000000000000000000000000000000000000000000000","rowsAfter":0,"rowsBefore":0,"table":"vm_events"}]}',NULL);
CREATE TABLE IF NOT EXISTS "vmdb_online_state" (key TEXT PRIMARY KEY, value);
INSERT INTO vmdb_online_state VALUES('state','{"checksum":"77a8d234f6bccfa3a224fdc83c79b7413be5f6c82b0c9b2541861ef8b4f8a490","copiedBelow":[null,null],"figures":{"overLimitRollbacks":0,"cutOverRetries":0,"verifySeconds":0,"totalTransactionMilliseconds":7.449224,"rowsCopied":3,"changesApplied":0,"drainSeconds":0,"longestTransactionMilliseconds":6.763927,"peakWALBytes":82432,"transactions":2,"cutOverMilliseconds":0,"resumes":0,"copySeconds":0,"longestTransaction":"preparing the online copy of migration 3","fileGrowthBytes":0},"tables":["vms","vm_events"],"version":3,"appliedChange":0,"phase":"copy","schemaBefore":{"objects":[{"sql":"CREATE TABLE vms (\n    id                 INTEGER PRIMARY KEY,\n    vm_id              TEXT NOT NULL UNIQUE,\n    name               TEXT NOT NULL,\n    node_id            INTEGER,\n    contract_id        INTEGER,\n    twin_id            INTEGER,\n    status             TEXT NOT NULL DEFAULT ''provisioning'',\n    ipv4               TEXT,\n    ipv6               TEXT,\n    mycelium_ip        TEXT,\n    flist              TEXT,\n    cpu                INTEGER,\n    memory_mb          INTEGER,\n    disk_gb            INTEGER,\n    installed_version  TEXT,\n    available_version  TEXT,\n    updates_checked_at TEXT,\n    created_at         TEXT NOT NULL,\n    updated_at         TEXT NOT NULL,\n    metadata           TEXT\n, network TEXT)","type":"table","table":"vms","name":"vms"},{"sql":"CREATE INDEX vms_status ON vms(status)","type":"index","table":"vms","name":"vms_status"},{"sql":"CREATE TABLE vm_events (\n    id     INTEGER PRIMARY KEY,\n    vm_id  TEXT NOT NULL REFERENCES vms(vm_id) ON DELETE CASCADE,\n    kind   TEXT NOT NULL,\n    at     TEXT NOT NULL,\n    detail TEXT\n)","type":"table","table":"vm_events","name":"vm_events"},{"sql":"CREATE INDEX vm_events_vm ON vm_events(vm_id)","type":"index","table":"vm_events","name":"vm_events_vm"},{"sql":"CREATE INDEX vms_network ON vms(network)","type":"index","table":"vms","name":"vms_network"}]},"renamedIndexes":{"vmdb_old_vm_events_vm":"vm_events_vm","vmdb_old_vms_network":"vms_network","vmdb_old_vms_status":"vms_status"},"startedAt":"2026-12-07T15:20:39.173Z"}');
CREATE TABLE IF NOT EXISTS "vmdb_online_changes" (seq INTEGER PRIMARY KEY, tbl, row);
CREATE TABLE IF NOT EXISTS "vmdb_new_vms" (
    id                 INTEGER PRIMARY KEY,
    vm_id              TEXT NOT NULL,
    name               TEXT NOT NULL,
    node_id            INTEGER,
    contract_id        INTEGER,
    twin_id            INTEGER,
    status             TEXT NOT NULL DEFAULT 'provisioning',
    ipv4               TEXT,
    ipv6               TEXT,
    mycelium_ip        TEXT,
    flist              TEXT,
    cpu                INTEGER,
    memory_mb          INTEGER,
    disk_gb            INTEGER,
    installed_version  TEXT,
    available_version  TEXT,
    updates_checked_at TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    metadata           TEXT,
    network            TEXT NOT NULL CHECK (network <> ''),
    origin             TEXT NOT NULL DEFAULT 'provision'
);
INSERT INTO vmdb_new_vms VALUES(1,'a1','a',NULL,NULL,NULL,'running',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'c','u',NULL,'main','provision');
INSERT INTO vmdb_new_vms VALUES(2,'b2','b',NULL,NULL,NULL,'running',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'c','u',NULL,'main','provision');
CREATE TABLE IF NOT EXISTS "vmdb_new_vm_events" (
    id      INTEGER PRIMARY KEY,
    vm_id   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    at      TEXT NOT NULL,
    detail  TEXT,
    network TEXT NOT NULL,
    FOREIGN KEY (network, vm_id) REFERENCES "vmdb_new_vms"(network, vm_id)
        ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO vmdb_new_vm_events VALUES(1,'a1','created','t',NULL,'main');
CREATE INDEX "vmdb_old_vms_status" ON vms(status);
CREATE INDEX "vmdb_old_vm_events_vm" ON vm_events(vm_id);
CREATE INDEX "vmdb_old_vms_network" ON vms(network);
CREATE UNIQUE INDEX vms_identity ON "vmdb_new_vms"(network, vm_id);
CREATE INDEX vms_status ON "vmdb_new_vms"(status);
CREATE INDEX vms_network ON "vmdb_new_vms"(network);
CREATE INDEX vm_events_vm ON "vmdb_new_vm_events"(network, vm_id);
CREATE TRIGGER "vmdb_online_vms_ai" AFTER INSERT ON "vms" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) VALUES (0, NEW.rowid);
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, "e".rowid FROM "vm_events" AS "e" WHERE NEW.vm_id = e.vm_id;
END;
CREATE TRIGGER "vmdb_online_vms_au" AFTER UPDATE ON "vms" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) VALUES (0, OLD.rowid);
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 0, NEW.rowid WHERE NEW.rowid IS NOT OLD.rowid;
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, "e".rowid FROM "vm_events" AS "e" WHERE OLD.vm_id = e.vm_id;
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, "e".rowid FROM "vm_events" AS "e" WHERE NEW.vm_id = e.vm_id;
END;
CREATE TRIGGER "vmdb_online_vms_ad" AFTER DELETE ON "vms" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) VALUES (0, OLD.rowid);
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, "e".rowid FROM "vm_events" AS "e" WHERE OLD.vm_id = e.vm_id;
END;
CREATE TRIGGER "vmdb_online_vms_bi" BEFORE INSERT ON "vms" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 0, rowid FROM "vms" WHERE "vm_id" = NEW."vm_id" COLLATE "BINARY";
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, "e".rowid FROM "vm_events" AS "e" JOIN "vms" AS "v" ON (v.vm_id = e.vm_id) WHERE "v"."vm_id" = NEW."vm_id" COLLATE "BINARY";
END;
CREATE TRIGGER "vmdb_online_vms_bu" BEFORE UPDATE ON "vms" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 0, rowid FROM "vms" WHERE "vm_id" = NEW."vm_id" COLLATE "BINARY" AND rowid IS NOT OLD.rowid;
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, "e".rowid FROM "vm_events" AS "e" JOIN "vms" AS "v" ON (v.vm_id = e.vm_id) WHERE "v"."vm_id" = NEW."vm_id" COLLATE "BINARY";
END;
CREATE TRIGGER "vmdb_online_vm_events_ai" AFTER INSERT ON "vm_events" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) VALUES (1, NEW.rowid);
END;
CREATE TRIGGER "vmdb_online_vm_events_au" AFTER UPDATE ON "vm_events" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) VALUES (1, OLD.rowid);
  INSERT INTO "vmdb_online_changes" (tbl, row) SELECT 1, NEW.rowid WHERE NEW.rowid IS NOT OLD.rowid;
END;
CREATE TRIGGER "vmdb_online_vm_events_ad" AFTER DELETE ON "vm_events" BEGIN
  INSERT INTO "vmdb_online_changes" (tbl, row) VALUES (1, OLD.rowid);
END;
COMMIT;
"""#

    static func load(in directory: TemporaryDirectory, name: String) throws -> String {
        let path = directory.file(name)
        try Fixtures.load(dump: Self.formatOneDump, to: path)
        return path
    }

    static func schemaAndRows(_ path: String) throws -> [[DatabaseValue]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name <> 'vmdb_migrations' ORDER BY name").map { Array($0.databaseValues) }
                + Row.fetchAll(db, sql: "SELECT rowid, * FROM vms ORDER BY rowid").map { Array($0.databaseValues) }
                + Row.fetchAll(db, sql: "SELECT rowid, * FROM vm_events ORDER BY rowid").map { Array($0.databaseValues) }
        }
    }

    @Test func aFormatOneRunIsUndoneAndTheMigrationRunAgain() throws {
        let directory = try TemporaryDirectory("online-format-1")
        let online = try Self.load(in: directory, name: "online.db")
        let offline = try Self.load(in: directory, name: "offline.db")
        var options = MigrationOptions()
        options.takesBackup = false
        options.targetVersion = 3   // the record is of an online run of v3; v4 only adds a table
        options.parameters = ["default_network": "main"]
        _ = try Fixtures.migrator.migrate(path: offline, options: options)
        options.online = OnlineSettings()
        let report = try Fixtures.migrator.migrate(path: online, options: options)
        #expect(report.toVersion == 3)
        // The operator's indexes have their names back, and the result is offline's to the byte.
        let result = try Self.schemaAndRows(online)
        #expect(result == (try Self.schemaAndRows(offline)))
        #expect(!result.contains { ($0[1].storage.value as? String)?.hasPrefix("vmdb_") == true })
        let queue = try DatabaseQueue(path: online)
        defer { try? queue.close() }
        #expect(try queue.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name") }
                == ["vm_events_vm", "vm_repairs_vm", "vms_identity", "vms_network", "vms_status"])
    }

    @Test func aRecordInANewerFormatIsRefusedAndTheFileLeftAsItIs() throws {
        let directory = try TemporaryDirectory("online-format-99")
        let path = try Self.load(in: directory, name: "newer.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "UPDATE vmdb_online_state SET value = json_set(value, '$.format', 99) WHERE key = 'state'") }
        try queue.close()
        let before = try Fixtures.fileHash(path)
        for online in [true, false] {
            var options = MigrationOptions()
            options.takesBackup = false
            options.parameters = ["default_network": "main"]
            options.online = online ? OnlineSettings() : nil
            let error = #expect(throws: MigrationError.self) { _ = try Fixtures.migrator.migrate(path: path, options: options) }
            #expect(error?.code == .newerDatabase, "\(error.map { "\($0)" } ?? "")")
            #expect(error?.message.contains("format 99") == true && error?.message.contains("newer version") == true, "\(error?.message ?? "")")
        }
        #expect(try Fixtures.fileHash(path) == before)
    }
}
