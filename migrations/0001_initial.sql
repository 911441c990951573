-- v1: the deployer's first schema, single network.
-- vm_id is globally UNIQUE: the shape that cannot hold two networks' ids.
-- Events refer to their VM by vm_id alone.
--
-- Directives (lines starting with `--!`) are read by MigrationKit; see
-- Sources/MigrationKit/Catalog/MigrationParser.swift for the grammar.

--! step
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
);
CREATE INDEX vms_status ON vms(status);
CREATE TABLE vm_events (
    id     INTEGER PRIMARY KEY,
    vm_id  TEXT NOT NULL REFERENCES vms(vm_id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    at     TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX vm_events_vm ON vm_events(vm_id);
