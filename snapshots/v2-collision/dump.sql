-- v2 multi-network deployer database holding the collision scenario:
-- qa/005o is recorded; mainnet's 005o could not be (global UNIQUE(vm_id)), so it runs as an orphan.
-- Made before vmdb existed: no history table (migrate baselines it).
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
INSERT INTO vms VALUES(1,'0069','web-frontend',11,100231,4012,'running','185.69.166.12/24',NULL,'4a3:77f2:1e2b:9c01:5d2e:81aa:2f10:7c3d','https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist',2,4096,50,'1.4.2','1.5.0','2026-11-20T08:00:00Z','2026-01-04T10:11:12Z','2026-11-20T08:00:00Z','{"tags":["web"]}','main');
INSERT INTO vms VALUES(2,'005a','db-primary',27,100240,4012,'running',NULL,'2a10:b600:1:7a3::12','4b1:9e0a:33c2:1100:2b7e:aa01:43d9:0e6f','https://hub.grid.tf/tf-official-vms/debian-12.flist',4,8192,250,'1.4.2',NULL,'2026-11-20T08:00:00Z','2026-01-05T09:00:00Z','2026-11-20T08:00:00Z','{"tags":["db"]}','main');
INSERT INTO vms VALUES(3,'00b2','ci-runner',27,100311,5100,'stopped',NULL,NULL,'4c7:1d2e:9f30:aa11:0b2c:7de1:5a60:3e21','https://hub.grid.tf/tf-official-apps/base:latest.flist',1,2048,25,NULL,NULL,NULL,'2026-03-02T14:30:00Z','2026-06-01T12:00:00Z',NULL,'main');
INSERT INTO vms VALUES(4,'005o','qa-smoke-1',301,52011,88,'running',NULL,NULL,'4d2:0a1b:7c3d:e4f5:6a7b:8c9d:0e1f:2a3b','https://hub.grid.tf/tf-official-vms/ubuntu-22.04.flist',1,1024,10,'1.5.0',NULL,'2026-11-21T07:30:00Z','2026-11-18T16:20:00Z','2026-11-21T07:30:00Z','{"tags":["ci"],"owner":"qa-team"}','qa');
INSERT INTO vms VALUES(5,'0071','qa-load',302,52019,88,'error',NULL,NULL,NULL,'https://hub.grid.tf/tf-official-vms/ubuntu-22.04.flist',2,2048,25,NULL,NULL,NULL,'2026-11-19T09:00:00Z','2026-11-19T09:05:00Z',NULL,'qa');
INSERT INTO vms VALUES(6,'0102','test-gateway',1201,9001,301,'running','10.20.30.40/24','2a10:b600:2::1',NULL,'https://hub.grid.tf/tf-official-apps/nixos-micro-latest.flist',1,512,10,'0.9.0','1.0.0','2026-11-22T00:00:00Z','2026-10-01T00:00:00Z','2026-11-22T00:00:00Z','{"solution":"gateway"}','test');
INSERT INTO vms VALUES(7,'0003','dev-sandbox',7,311,2,'deleted',NULL,NULL,NULL,NULL,1,512,10,NULL,NULL,NULL,'2025-12-24T23:59:59Z','2026-02-01T00:00:00Z',NULL,'dev');
INSERT INTO vms VALUES(8,'01zz','main-batch',44,100412,777,'running',NULL,'2a10:b600:1:8::4','4e0:1111:2222:3333:4444:5555:6666:7777','https://hub.grid.tf/tf-official-vms/ubuntu-24.04-full.flist',8,16384,500,'1.5.0',NULL,'2026-11-20T08:00:00Z','2026-07-14T03:02:01Z','2026-11-20T08:00:00Z','{"tags":["batch","gpu"]}','main');
CREATE TABLE vm_events (
    id     INTEGER PRIMARY KEY,
    vm_id  TEXT NOT NULL REFERENCES vms(vm_id) ON DELETE CASCADE,
    kind   TEXT NOT NULL,
    at     TEXT NOT NULL,
    detail TEXT
);
INSERT INTO vm_events VALUES(1,'0069','created','2026-01-04T10:11:12Z','{"by":"twin:4012"}');
INSERT INTO vm_events VALUES(2,'0069','started','2026-01-04T10:12:00Z',NULL);
INSERT INTO vm_events VALUES(3,'005a','created','2026-01-05T09:00:00Z','{"by":"twin:4012"}');
INSERT INTO vm_events VALUES(4,'005a','started','2026-01-05T09:01:00Z',NULL);
INSERT INTO vm_events VALUES(5,'00b2','created','2026-03-02T14:30:00Z',NULL);
INSERT INTO vm_events VALUES(6,'00b2','stopped','2026-06-01T12:00:00Z','{"reason":"idle"}');
INSERT INTO vm_events VALUES(7,'005o','created','2026-11-18T16:20:00Z','{"by":"twin:88"}');
INSERT INTO vm_events VALUES(8,'0071','created','2026-11-19T09:00:00Z',NULL);
INSERT INTO vm_events VALUES(9,'0071','error','2026-11-19T09:05:00Z','{"error":"node 302 out of capacity"}');
INSERT INTO vm_events VALUES(10,'0102','created','2026-10-01T00:00:00Z',NULL);
INSERT INTO vm_events VALUES(11,'0003','created','2025-12-24T23:59:59Z',NULL);
INSERT INTO vm_events VALUES(12,'0003','deleted','2026-02-01T00:00:00Z',NULL);
INSERT INTO vm_events VALUES(13,'01zz','created','2026-07-14T03:02:01Z',NULL);
INSERT INTO vm_events VALUES(14,'01zz','started','2026-07-14T03:03:00Z',NULL);
CREATE INDEX vms_status ON vms(status);
CREATE INDEX vm_events_vm ON vm_events(vm_id);
CREATE INDEX vms_network ON vms(network);
COMMIT;
