-- v2: multi-network added without fixing identity.
-- A `network` column appears, but UNIQUE(vm_id) is still global: the shape
-- whose second provision of a colliding id failed and left an orphan.
-- Existing rows belong to the network the operator states: never guessed.

--! parameter default_network (VM(s) have no network yet): SELECT count(*) FROM vms
--! expect vms.network: :default_network

--! step
ALTER TABLE vms ADD COLUMN network TEXT;
UPDATE vms SET network = :default_network;
CREATE INDEX vms_network ON vms(network);
