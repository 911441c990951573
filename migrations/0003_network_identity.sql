-- v3: a VM is identified by (network, vm_id).
-- SQLite cannot alter a constraint, so vms and vm_events are recreated by the
-- 12-step procedure (https://www.sqlite.org/lang_altertable.html#otheralter),
-- which MigrationKit runs for every `--! recreate` block: foreign keys off,
-- new table, copy, drop, rename, then every index, trigger and view that
-- existed, including ones an operator added.
-- Rows whose network was left NULL or empty get the one the operator states.

--! parameter default_network (VM(s) have a NULL or empty network): SELECT count(*) FROM vms WHERE network IS NULL OR trim(network) = ''
--! expect vms.network: CASE WHEN network IS NULL OR trim(network) = '' THEN :default_network ELSE network END
--! expect vms.origin: 'provision'
--! invariant every VM has a network: SELECT count(*) FROM vms WHERE network IS NULL OR network = ''
--! invariant no two VMs share (network, vm_id): SELECT count(*) FROM (SELECT 1 FROM vms GROUP BY network, vm_id HAVING count(*) > 1)
--! probe accepts the same vm_id under another network inserts: INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-a'); INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-b')
--! probe rejects an exact duplicate (network, vm_id) is rejected: INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-a'); INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-a')
--! probe rejects an empty network is rejected: INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '')

--! step
UPDATE vms SET network = :default_network WHERE network IS NULL OR trim(network) = '';

--! recreate vms
CREATE TABLE vms (
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

--! recreate vm_events
-- Events now name their VM by the pair; their network comes from the VM they
-- belonged to (vm_id was globally unique until now, so the join is exact).
CREATE TABLE vm_events (
    id      INTEGER PRIMARY KEY,
    vm_id   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    at      TEXT NOT NULL,
    detail  TEXT,
    network TEXT NOT NULL,
    FOREIGN KEY (network, vm_id) REFERENCES vms(network, vm_id)
        ON DELETE CASCADE ON UPDATE CASCADE
);
--! copy vm_events AS e
SELECT e.id, e.vm_id, e.kind, e.at, e.detail, v.network
FROM vm_events AS e JOIN vms AS v ON v.vm_id = e.vm_id

--! step
-- The identity is a unique index built after the copy: the same rule as an
-- inline UNIQUE(network, vm_id), built once from sorted keys instead of row
-- by row in random order (about a third of the floor's time at 1M VMs).
CREATE UNIQUE INDEX vms_identity ON vms(network, vm_id);
-- Replaces v1's index on vm_id alone (same name, so the old one is not recreated).
CREATE INDEX vm_events_vm ON vm_events(network, vm_id);
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
