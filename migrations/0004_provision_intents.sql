-- v4: provision intents. A deployer writes down what it is about to ask a
-- daemon to create (a request id of its own, which the daemon keeps and lists)
-- before the call, and closes the intent in the same transaction that records
-- the VM. Whatever fails in between (a kill, a full disk, a lost answer), the
-- open intent says which request may have left a VM behind, and `vmdb repair`
-- resolves it from the daemon's inventory.
--
-- Only adds a table: stores built for v3 keep working (expand, no contract).
-- No table is rebuilt, so `migrate --online` runs it as one short transaction.
--
-- States:
--   pending    written before the daemon call; lease_owner/lease_expires_at say
--              who is working on it and until when (not interrupted before then)
--   recorded   the deployer recorded the VM (vm_id) and closed it
--   failed     the daemon said no; nothing was created
--   adopted    repair found the request's VM in the inventory and recorded it
--   abandoned  repair missed it on two scans some time apart: nothing was created
--              (first_missed_at is the first of those scans)

--! keeps-store-compatible-from: 3
--! probe accepts an intent per network for one request id inserts: INSERT INTO provision_intents (network, request_id, name, created_at, updated_at) VALUES ('vmdb-probe-a', 'vmdb-probe', 'vmdb-probe', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'); INSERT INTO provision_intents (network, request_id, name, created_at, updated_at) VALUES ('vmdb-probe-b', 'vmdb-probe', 'vmdb-probe', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
--! probe rejects a request id twice on one network is rejected: INSERT INTO provision_intents (network, request_id, name, created_at, updated_at) VALUES ('vmdb-probe-a', 'vmdb-probe', 'vmdb-probe', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'); INSERT INTO provision_intents (network, request_id, name, created_at, updated_at) VALUES ('vmdb-probe-a', 'vmdb-probe', 'vmdb-probe-2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
--! probe rejects an unknown state is rejected: INSERT INTO provision_intents (network, request_id, name, state, created_at, updated_at) VALUES ('vmdb-probe-a', 'vmdb-probe', 'vmdb-probe', 'done', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
--! probe rejects a recorded intent without its vm_id is rejected: INSERT INTO provision_intents (network, request_id, name, state, created_at, updated_at) VALUES ('vmdb-probe-a', 'vmdb-probe', 'vmdb-probe', 'recorded', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')
--! probe rejects a closed intent that keeps a lease is rejected: INSERT INTO provision_intents (network, request_id, name, state, lease_owner, lease_expires_at, created_at, updated_at) VALUES ('vmdb-probe-a', 'vmdb-probe', 'vmdb-probe', 'failed', 'vmdb-probe', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')

--! step
CREATE TABLE provision_intents (
    id               INTEGER PRIMARY KEY,
    network          TEXT NOT NULL CHECK (network <> ''),
    request_id       TEXT NOT NULL CHECK (request_id <> ''),
    -- What was asked: enough to recognise the VM, and to refuse the same
    -- request id reused for another request.
    name             TEXT NOT NULL,
    node_id          INTEGER,
    cpu              INTEGER,
    memory_mb        INTEGER,
    disk_gb          INTEGER,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'recorded', 'failed', 'adopted', 'abandoned')),
    vm_id            TEXT,
    -- Why it failed, or what repair saw.
    detail           TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    first_missed_at  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((vm_id IS NOT NULL) = (state IN ('recorded', 'adopted'))),
    CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
    CHECK (state = 'pending' OR lease_owner IS NULL)
);
CREATE UNIQUE INDEX provision_intents_request ON provision_intents(network, request_id);
-- Repair and `vmdb vm intents` read the open ones, oldest first.
CREATE INDEX provision_intents_open ON provision_intents(created_at) WHERE state = 'pending';
