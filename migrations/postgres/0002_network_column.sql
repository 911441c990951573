-- v2 on PostgreSQL, as migrations/0002_network_column.sql: every VM gets the network the
-- operator states (the deployer ran on one network until now).

--! parameter default_network (VM(s) have no network yet): SELECT count(*) FROM vms
--! expect vms.network: :default_network

--! step
ALTER TABLE vms ADD COLUMN network text COLLATE "C";
UPDATE vms SET network = :default_network;
CREATE INDEX vms_network ON vms (network);
