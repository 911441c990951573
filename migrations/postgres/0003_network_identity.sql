-- v3 on PostgreSQL, as migrations/0003_network_identity.sql: a VM is identified by
-- (network, vm_id). Offline, every block below runs as written in one transaction.
-- Online (`migrate --online`, docs/POSTGRESQL-DESIGN.md), each block is a step of its own
-- and no statement holds a lock the deployer's writes wait on for longer than a catalog
-- update: `concurrently` builds an index without blocking writes, `not-valid` adds a
-- constraint NOT VALID and validates it apart, `backfill` updates a batch of keys per
-- transaction, and every plain step runs under a short lock_timeout, retried.
-- Rows whose network was left NULL or empty get the one the operator states.
-- A v2 deployer keeps writing while this runs: its events carry no network, so the
-- trigger gives them their VM's (it stays: a v2 writer may still be running when v3 ends).

--! parameter default_network (VM(s) have a NULL or empty network): SELECT count(*) FROM vms WHERE network IS NULL OR trim(network) = ''
--! expect vms.network: CASE WHEN network IS NULL OR trim(network) = '' THEN :default_network ELSE network END
--! expect vms.origin: 'provision'
--! invariant every VM has a network: SELECT count(*) FROM vms WHERE network IS NULL OR network = ''
--! invariant no two VMs share (network, vm_id): SELECT count(*) FROM (SELECT 1 FROM vms GROUP BY network, vm_id HAVING count(*) > 1) AS pairs
--! invariant every event has its VM's network: SELECT count(*) FROM vm_events AS e WHERE NOT EXISTS (SELECT 1 FROM vms AS v WHERE v.network = e.network AND v.vm_id = e.vm_id)
--! probe accepts the same vm_id under another network inserts: INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-a'); INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-b')
--! probe rejects an exact duplicate (network, vm_id) is rejected: INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-a'); INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'vmdb-probe-a')
--! probe rejects an empty network is rejected: INSERT INTO vms (vm_id, name, created_at, updated_at, network) VALUES ('vmdb-probe', 'vmdb-probe-1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '')

--! step
-- Catalog-only changes (a constant default and a nullable column rewrite nothing).
ALTER TABLE vms ADD COLUMN origin text NOT NULL DEFAULT 'provision';
ALTER TABLE vm_events ADD COLUMN network text COLLATE "C";
CREATE FUNCTION vm_events_network_of_vm() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.network := (SELECT v.network FROM vms AS v WHERE v.vm_id = NEW.vm_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER vm_events_network_of_vm BEFORE INSERT OR UPDATE OF vm_id, network ON vm_events
    FOR EACH ROW WHEN (NEW.network IS NULL) EXECUTE FUNCTION vm_events_network_of_vm();

--! backfill vms BY id BATCH 5000
UPDATE vms SET network = :default_network
WHERE (network IS NULL OR trim(network) = '') AND id BETWEEN :batch_first::bigint AND :batch_last::bigint;

--! not-valid
ALTER TABLE vms ADD CONSTRAINT vms_network_not_null CHECK (network IS NOT NULL);

--! not-valid
ALTER TABLE vms ADD CONSTRAINT vms_network_check CHECK (network <> '');

--! step
-- The validated check proves the column has no NULL: SET NOT NULL scans nothing.
ALTER TABLE vms ALTER COLUMN network SET NOT NULL;
ALTER TABLE vms DROP CONSTRAINT vms_network_not_null;

--! concurrently
CREATE UNIQUE INDEX vms_identity ON vms (network, vm_id);

--! step
ALTER TABLE vms ADD CONSTRAINT vms_identity UNIQUE USING INDEX vms_identity;

-- The events by the pair: their network from the VM they belonged to (vm_id was
-- globally unique until now, so the join is exact).
--! backfill vm_events BY id BATCH 5000
UPDATE vm_events AS e SET network = v.network FROM vms AS v
WHERE v.vm_id = e.vm_id AND e.network IS NULL AND e.id BETWEEN :batch_first::bigint AND :batch_last::bigint;

--! not-valid
ALTER TABLE vm_events ADD CONSTRAINT vm_events_network_not_null CHECK (network IS NOT NULL);

--! step
ALTER TABLE vm_events ALTER COLUMN network SET NOT NULL;
ALTER TABLE vm_events DROP CONSTRAINT vm_events_network_not_null;

--! not-valid
ALTER TABLE vm_events ADD CONSTRAINT vm_events_network_vm_id_fkey FOREIGN KEY (network, vm_id) REFERENCES vms (network, vm_id)
    ON DELETE CASCADE ON UPDATE CASCADE;

--! step
ALTER TABLE vm_events DROP CONSTRAINT vm_events_vm_id_fkey;
ALTER TABLE vms DROP CONSTRAINT vms_vm_id_key;

-- Replaces v1's index on vm_id alone (built first, so the cascade never lacks one).
--! concurrently
CREATE INDEX vm_events_vm_pair ON vm_events (network, vm_id);

--! step
DROP INDEX vm_events_vm;
ALTER INDEX vm_events_vm_pair RENAME TO vm_events_vm;
CREATE TABLE vm_repairs (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    network     text COLLATE "C" NOT NULL,
    vm_id       text COLLATE "C" NOT NULL,
    action      text NOT NULL,
    source      text NOT NULL,
    entry       text NOT NULL,
    recorded_at text COLLATE "C" NOT NULL
);
CREATE INDEX vm_repairs_vm ON vm_repairs (network, vm_id);
