-- The floor: v2 -> v3 written by hand as SQLite's 12-step procedure
-- (https://www.sqlite.org/lang_altertable.html#otheralter), run as
--     sqlite3 DB < floor_v2_to_v3.sql
-- on the database benchmarks/gen_v2.py makes. Same end schema as vmdb's
-- migration, written the naive way (inline UNIQUE, default page cache).
.bail on
PRAGMA foreign_keys=OFF;
BEGIN;
CREATE TABLE new_vms (
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
    origin             TEXT NOT NULL DEFAULT 'provision',
    UNIQUE (network, vm_id)
);
INSERT INTO new_vms (id, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
                     cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at,
                     created_at, updated_at, metadata, network)
    SELECT id, vm_id, name, node_id, contract_id, twin_id, status, ipv4, ipv6, mycelium_ip, flist,
           cpu, memory_mb, disk_gb, installed_version, available_version, updates_checked_at,
           created_at, updated_at, metadata, network
    FROM vms;
CREATE TABLE new_vm_events (
    id      INTEGER PRIMARY KEY,
    vm_id   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    at      TEXT NOT NULL,
    detail  TEXT,
    network TEXT NOT NULL,
    FOREIGN KEY (network, vm_id) REFERENCES vms(network, vm_id) ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO new_vm_events (id, vm_id, kind, at, detail, network)
    SELECT e.id, e.vm_id, e.kind, e.at, e.detail, v.network FROM vm_events AS e JOIN vms AS v ON v.vm_id = e.vm_id;
DROP VIEW vms_active;
DROP TABLE vm_events;
DROP TABLE vms;
ALTER TABLE new_vms RENAME TO vms;
ALTER TABLE new_vm_events RENAME TO vm_events;
CREATE INDEX vm_events_vm ON vm_events(network, vm_id);
CREATE INDEX vms_status ON vms(status);
CREATE INDEX vms_network ON vms(network);
CREATE TRIGGER vms_set_updated_at AFTER UPDATE ON vms FOR EACH ROW
WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE vms SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = NEW.id;
END;
CREATE VIEW vms_active AS
    SELECT id, vm_id, network, name, node_id, status, ipv4, mycelium_ip, updated_at
    FROM vms WHERE status IN ('running', 'starting');
CREATE TABLE vm_repairs (
    id          INTEGER PRIMARY KEY,
    network     TEXT NOT NULL,
    vm_id       TEXT NOT NULL,
    action      TEXT NOT NULL,
    source      TEXT NOT NULL,
    entry       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX vm_repairs_vm ON vm_repairs(network, vm_id);
ANALYZE vms;
ANALYZE vm_events;
PRAGMA foreign_key_check;
COMMIT;
